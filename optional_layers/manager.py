"""The plugin manager: loads enabled layers from the entry-point group, blocks disabled ones
before they are imported, and wraps each hook in a typed method the core calls."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from optional_layers import hookspecs
from optional_layers.hookspecs import PROJECT, LayerInfo
from optional_layers.state import read_state

if TYPE_CHECKING:
    import pandas as pd
    from dagster import Definitions
    from fastapi import FastAPI

    from mlops_platform.settings import Settings

ENTRY_POINT_GROUP = "mlops.layers"
BUILTIN = {"alerts"}  # always on; registered through the entry-point group like any layer

log = logging.getLogger("mlops.layers")


def known_layers() -> list[str]:
    """Optional layers installed in this environment (entry points of the group, minus built-ins)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} - BUILTIN)


class LayerManager:
    def __init__(self, enabled: set[str]):
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        for name in known_layers():
            if name not in enabled:
                self.pm.set_blocked(name)  # never imported
        self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        self.pm.check_pending()

    def loaded(self) -> list[str]:
        return sorted(name for name, plugin in self.pm.list_name_plugin() if plugin is not None)

    def layer_infos(self) -> list[LayerInfo]:
        return list(self.pm.hook.mlops_layer_info())

    def dagster_definitions(self, settings: Settings) -> list[Definitions]:
        return [d for d in self.pm.hook.mlops_dagster_definitions(settings=settings) if d is not None]

    def serving_startup(self, app: FastAPI, settings: Settings) -> None:
        self.pm.hook.mlops_serving_startup(app=app, settings=settings)

    def feature_source(self, settings: Settings) -> pd.DataFrame | None:
        return self.pm.hook.mlops_feature_source(settings=settings)

    def lifecycle_event(self, event: str, payload: dict[str, Any]) -> None:
        self._notify(self.pm.hook.mlops_lifecycle_event, event, payload)

    def serving_event(self, event: str, payload: dict[str, Any]) -> None:
        self._notify(self.pm.hook.mlops_serving_event, event, payload)

    def logging_handlers(self, settings: Settings) -> list[logging.Handler]:
        return [h for handlers in self.pm.hook.mlops_logging_handlers(settings=settings) for h in handlers]

    def _notify(self, hook, event: str, payload: dict[str, Any]) -> None:
        for impl in reversed(hook.get_hookimpls()):
            try:
                impl.function(event=event, payload=payload)
            except Exception:  # a subscriber never breaks the pipeline or the server
                log.exception("layer %s failed on event %s", impl.plugin_name, event)


@lru_cache(maxsize=None)
def get_manager(env: str) -> LayerManager:
    """The env's manager: layers on in `envs/<env>/layers.yaml` plus the built-ins."""
    return LayerManager(read_state(env).active())
