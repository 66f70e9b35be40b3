"""The server's implementation of `serving.api.ServedView`: its variants, once the lifespan built them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_base.aliases import Alias
from serving.alias_watch import AliasWatch
from serving.data_plane import DataPlane
from serving.protocol import HotRoutes
from serving.variants import VariantRegistry


class Served:
    def __init__(self, routes: HotRoutes):
        self.routes = routes
        self.variants: VariantRegistry | None = None  # set when the lifespan starts
        self.plane: DataPlane | None = None
        self.watch: AliasWatch | None = None

    def versions(self) -> Mapping[Alias, str | None]:
        variants = self.variants
        if variants is None:
            return {}
        return {variant.alias: variants.served_version(variant.alias) for variant in variants.variants()}

    def loaded(self) -> Mapping[Alias, bool]:
        variants = self.variants
        return {} if variants is None else {v.alias: v.runtime is not None for v in variants.variants()}

    def in_flight(self) -> int:
        return 0 if self.variants is None else self.variants.in_flight()

    def scores(self, path: str) -> bool:
        return self.routes.scores(path)

    def ramp(self) -> Mapping[str, Any] | None:
        return None if self.plane is None else self.plane.ramp()

    def registry_failures(self) -> int:
        return 0 if self.watch is None else self.watch.failures
