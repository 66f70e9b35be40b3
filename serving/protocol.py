"""One declaration per protocol: its router, the hot routes the lean ASGI path answers, the body
schemas it reads by hand, its error shape and its OpenAPI patch. The hot path, `create_app`, the
error handlers, the layers' metrics and the OpenAPI iterate the declarations; nothing else matches
a path by hand (MLServer's route table and codec registry, in one value per protocol)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

if TYPE_CHECKING:
    from mlops_base.settings import Settings
    from serving.data_plane import DataPlane
    from serving.reply import Headers, Reply
    from serving.runtimes.base import RuntimeInfo

HotHandler = Callable[["DataPlane", Mapping[str, str], bytes, "Headers"], Awaitable["Reply"]]
"""(data plane, path parameters, body, headers) -> what the route answers."""
ErrorShape = Callable[[int, str], tuple[int, dict[str, Any]]]
"""(status, message) -> the status and JSON body the protocol answers a failure with."""
DocPatch = Callable[[dict, "Mapping[str, RuntimeInfo]", "Settings"], None]
"""Patches the OpenAPI document (paths and components) for the models loaded now."""
RouteKind = Literal["prediction", "explanation"]
"""What a hot route answers: only predictions count as such in the layers' request metrics (which
the SLO rollback and the ramp read)."""
_PARAMETER = re.compile(r"\{(\w+)\}")
_NO_PARAMETERS: Mapping[str, str] = MappingProxyType({})


def detail_error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    """FastAPI's shape: `{"detail": ...}`."""
    return status, {"detail": message}


@dataclass(frozen=True)
class HotRoute:
    """A POST route the hot path answers without FastAPI, by path pattern (`/variant/{alias}/predict`).

    A parameter outside `allowed` (when given for it) is left to FastAPI's route, which answers it
    (e.g. 404 for an unknown alias)."""

    pattern: str
    handler: HotHandler
    allowed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    kind: RouteKind = "prediction"

    def __post_init__(self) -> None:
        segments = self.pattern.split("/")
        names = [(i, found.group(1)) for i, seg in enumerate(segments) if (found := _PARAMETER.fullmatch(seg))]
        if any("{" in seg for i, seg in enumerate(segments) if i not in dict(names)):
            raise ValueError(f"{self.pattern}: a parameter must be a whole path segment ({{name}})")
        # matched segment by segment: cheaper per request than a regex (this runs on every POST)
        object.__setattr__(self, "_width", len(segments))
        object.__setattr__(self, "_literals", tuple((i, seg) for i, seg in enumerate(segments) if i not in dict(names)))
        object.__setattr__(self, "_names", tuple(names))
        object.__setattr__(self, "checks", tuple(self.allowed.items()))

    @property
    def exact(self) -> bool:
        return "{" not in self.pattern

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when `path` is this route's (any values), else None."""
        return self.match_segments(path.split("/"))

    def match_segments(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != self._width:
            return None
        for i, literal in self._literals:
            if segments[i] != literal:
                return None
        params = {}
        for i, name in self._names:
            if not segments[i]:  # an empty segment is no parameter
                return None
            params[name] = segments[i]
        return params

    def accepts(self, params: Mapping[str, str]) -> bool:
        for name, values in self.checks:  # per request: no generator
            if params[name] not in values:
                return False
        return True


@dataclass(frozen=True)
class Protocol:
    """Everything the server knows of one protocol, declared once."""

    name: str
    router: APIRouter
    hot_routes: tuple[HotRoute, ...] = ()
    schemas: tuple[type[BaseModel], ...] = ()  # bodies read by hand: added to the OpenAPI components
    error_shape: ErrorShape = detail_error
    document: DocPatch | None = None

    def owns(self, path: str) -> bool:
        """Its paths are under its router's prefix (a protocol without one owns no path by prefix)."""
        prefix = self.router.prefix
        return bool(prefix) and (path == prefix or path.startswith(prefix + "/"))

    def declares(self) -> set[tuple[str, str]]:
        """(method, path) of every route of its router."""
        return {(method, route.path) for route in self.router.routes for method in getattr(route, "methods", ())}


class HotRoutes:
    """The hot routes of every protocol, matched exact paths first (one dict lookup), then patterns
    segment by segment (the path split once)."""

    def __init__(self, protocols: Iterable[Protocol]):
        routes = [route for protocol in protocols for route in protocol.hot_routes]
        self.exact = {route.pattern: (route, _NO_PARAMETERS) for route in routes if route.exact}
        self.patterns = [route for route in routes if not route.exact]

    def match(self, path: str) -> tuple[HotRoute, Mapping[str, str]] | None:
        """The route `path` is one of (whatever its parameters' values), with its parameters."""
        found = self.exact.get(path)
        if found is not None:
            return found
        segments = path.split("/")
        for route in self.patterns:
            params = route.match_segments(segments)
            if params is not None:
                return route, params
        return None

    def scores(self, path: str) -> bool:
        """Whether `path` is a prediction route of some protocol."""
        found = self.match(path)
        return found is not None and found[0].kind == "prediction"


def error_shape(protocols: Iterable[Protocol], path: str) -> ErrorShape:
    """The error shape of the protocol that owns `path` (FastAPI's `{"detail": ...}` otherwise)."""
    for protocol in protocols:
        if protocol.owns(path):
            return protocol.error_shape
    return detail_error
