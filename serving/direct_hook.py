"""Middleware that the direct path calls around a scoring request instead of wrapping it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from starlette.types import Scope


class DirectHook(ABC):
    """A middleware class that subclasses this is also called around a scoring request on the
    direct path (`serving.hot_path`): `enter` before it, `leave` after it with what `enter`
    returned, ANSWERED set by then. No coroutine of its own, and with only such middleware in the
    chain the path stays bare (no ASGI messages). Only an unbroken run of them from the outermost
    middleware in is called this way. A base class, not a method-name match: middleware that
    happens to have an `enter` is not mistaken for one."""

    @abstractmethod
    def enter(self, scope: Scope) -> Any: ...

    @abstractmethod
    def leave(self, scope: Scope, mark: Any) -> None: ...
