"""What the model server logs per request, instead of uvicorn's access log (off in every shipped
command: `serving.UVICORN_FLAGS`). uvicorn's line per request cost ~35% of a one-row prediction;
a scoring request that answers in time is not logged at all. Logged, one line each: every scoring
request that fails (4xx or 5xx) or takes longer than REQUEST_LOG_SLOW_MS, and every request to
the other routes (reload, feedback, status...) but the probes and scrapes, which are logged only
when they fail."""

from __future__ import annotations

import logging
import sys
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.direct_hook import DirectHook
from serving.scope_keys import ANSWERED

_log = logging.getLogger("serving.requests")


class _Handler(logging.StreamHandler):
    """uvicorn's console format, on stderr, when nothing else handles the server's records."""


def _ensure_handler() -> None:
    if not any(isinstance(h, _Handler) for h in _log.handlers):
        handler = _Handler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        _log.addHandler(handler)
        _log.setLevel(logging.INFO)


class RequestLog(DirectHook):
    """Pure ASGI middleware, inside the request id's (its records carry the id). On the direct path
    its work is `enter` and `leave`, as the request id's (the hot route records its status)."""

    def __init__(self, app: ASGIApp, slow_ms: float, quiet_paths: frozenset[str]):
        self.app = app
        self.slow_s = slow_ms / 1000
        self.quiet_paths = quiet_paths  # probes and scrapes: logged only when they fail
        _ensure_handler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = ["500"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            scoring = ANSWERED in scope
            quiet = scoring or scope["path"] in self.quiet_paths
            if not quiet or status[0][0] != "2" or (scoring and elapsed > self.slow_s):
                self._write(scope, status[0], elapsed)

    def enter(self, scope: Scope) -> float:
        return time.perf_counter()

    def leave(self, scope: Scope, started: float) -> None:
        """After a scoring request on the direct path (which records its status in the scope)."""
        elapsed = time.perf_counter() - started
        status = scope.get(ANSWERED, ("500",))[0]
        if status[0] != "2" or elapsed > self.slow_s:
            self._write(scope, status, elapsed)

    def _write(self, scope: Scope, status: str, elapsed: float) -> None:
        client = scope.get("client")
        peer = f"{client[0]}:{client[1]}" if client else "-"
        level = logging.WARNING if status[0] == "5" or elapsed > self.slow_s else logging.INFO
        _log.log(
            level,
            '%s - "%s %s HTTP/%s" %s %.1fms',
            peer,
            scope["method"],
            scope["path"],
            scope.get("http_version", "1.1"),
            status,
            elapsed * 1000,
        )
