"""The keys the model server sets in an ASGI request's scope, for middleware (its own and the
layers') that would otherwise wrap every message of a hot route to learn them.

- HOT: set on a request `serving.hot_path` answers directly (nothing else sends for it);
- REQUEST_ID: the request's id (bytes), which the hot path sends as `x-request-id` itself;
- TRACED: set on a hot request the edge sampling chose to trace (tracing on): the direct path
  wraps it in a server span of its own;
- DEFERRED: a list, set by a front end that writes the answer itself once the chain returns
  (`serving.http_protocol`): the hot route appends what must run after it is written (a shadow
  scoring) instead of running it before returning;
- ANSWERED: after the hot path answered, `(status, variant, version)` as strings ("none" for a
  variant or version when no model answered).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

HOT = "mlops.hot_handler"
REQUEST_ID = "mlops.request_id"
TRACED = "mlops.traced"
ANSWERED = "mlops.answered"
DEFERRED = "mlops.deferred"


@runtime_checkable
class DirectHook(Protocol):
    """Middleware that can also be called around a scoring request on the direct path instead of
    wrapping it (no coroutine of its own, and the path stays bare: `serving.hot_path`). `enter`
    runs before the request, `leave` after it with what `enter` returned; ANSWERED is set by then.
    Only an unbroken run of such middleware from the outermost in is called this way."""

    def enter(self, scope: dict) -> Any: ...

    def leave(self, scope: dict, mark: Any) -> None: ...
