"""The server spans of the model server's direct path: kept as a tuple on the event loop, encoded
as OTLP/JSON and exported by a thread of their own.

Why not the SDK's own spans there: with every request traced, a span the SDK made cost 76 us of
the event loop a request, exporter aside (measured in one core: its span object, attribute
container, locks and processor), as much as the whole request untraced. A server span needs its
ids, its parent, two times, four attributes and a status: ~6 us to keep on the loop, ~1.5 us to
encode in the export thread (what a route's spans share is encoded once). While the request
runs, its span is the current OpenTelemetry context (a non-recording span of the same ids), so
the trace id reaches the logs and the calls it makes.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mlops_base.otlp_json import OtlpJsonExporter, request_json, resource_json, scope_json

_log = logging.getLogger("mlops.tracing")
EXPORT_SECONDS = 0.5  # how often the thread exports (sooner when MAX_BATCH spans wait)
MAX_BATCH = 2048
MAX_QUEUE = 50_000  # more waiting are dropped and counted: tracing never slows or fails a request
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_TRACEPARENT = re.compile(rb"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")  # W3C, version 00
_SPAN = (
    '{"traceId":"%032x","spanId":"%016x",%s"name":%s,"kind":2,"startTimeUnixNano":"%d",'  # kind 2: SERVER
    '"endTimeUnixNano":"%d","attributes":[%s%s],"status":%s}'
)
_CODE = ',{"key":"http.response.status_code","value":{"intValue":"%d"}}'
_OK, _FAILED = '{"code":0}', '{"code":2}'  # unset, error (5xx: the server failed)
_MAX_ROUTES = 1_000  # (method, route, path) whose name and attributes are kept encoded
MAX_TRACE_STATE = 512  # W3C's limit


def parent_of(headers: Iterable[tuple[bytes, bytes]]) -> tuple[int, int, bytes | None] | None:
    """(trace id, parent span id, tracestate) of a valid W3C `traceparent`, else None (a root)."""
    parent = state = None
    for name, value in headers:
        if name == b"traceparent":
            parent = value
        elif name == b"tracestate":
            state = value
    if parent is None or not _TRACEPARENT.fullmatch(parent) or parent[:3] == b"ff-":
        return None
    trace_id, span_id = int(parent[3:35], 16), int(parent[36:52], 16)
    return (trace_id, span_id, state) if trace_id and span_id else None


class ServerSpans:
    def __init__(self, exporter: OtlpJsonExporter, resource: Resource, scope: str):
        self._exporter = exporter
        self._group = (resource_json(resource.attributes), scope_json(scope))
        self._routes: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._queue: deque[tuple] = deque()
        self.dropped = 0
        self._wake = threading.Event()
        self._exported = threading.Condition()
        self._ended = self._done = 0  # spans queued, and spans exported (or failed)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="server-spans", daemon=True)
        self._thread.start()

    @contextmanager
    def span(self, method: str, route: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> Iterator[Any]:
        """A server span around the body, the current span meanwhile; yields a function to record
        the answer's status (500 and above: an error, as the instrumentation marks them)."""
        parent = parent_of(headers)
        trace_id = parent[0] if parent is not None else random.getrandbits(128)
        span_id = random.getrandbits(64) or 1
        status = [0, None]  # the answer's status, an exception that escaped

        def answered(code: int) -> None:
            status[0] = code

        current = NonRecordingSpan(SpanContext(trace_id, span_id, False, _SAMPLED))
        token = context.attach(trace.set_span_in_context(current))
        start = time.time_ns()
        try:
            yield answered
        except BaseException as exc:
            status[1] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            context.detach(token)
            if len(self._queue) < MAX_QUEUE:
                self._queue.append((trace_id, span_id, parent, start, time.time_ns(), method, route, path, *status))
                self._ended += 1
                if len(self._queue) == MAX_BATCH:
                    self._wake.set()
            else:
                self.dropped += 1

    def _encoded(self, kept: tuple) -> str:
        trace_id, span_id, parent, start, end, method, route, path, code, error = kept
        fixed = self._routes.get((method, route, path))
        if fixed is None:
            attributes = {"http.request.method": method, "http.route": route, "url.path": path}
            fixed = (
                orjson.dumps(f"{method} {route}").decode(),
                orjson.dumps([{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]).decode()[1:-1],
            )
            if len(self._routes) < _MAX_ROUTES:
                self._routes[method, route, path] = fixed
        ids = ""
        if parent is not None:
            ids = '"parentSpanId":"%016x",' % parent[1]  # noqa: UP031 (the template's style)
            if parent[2] and len(parent[2]) <= MAX_TRACE_STATE:
                ids += '"traceState":%s,' % orjson.dumps(parent[2].decode("latin-1")).decode()  # noqa: UP031
        if error is not None:
            status = orjson.dumps({"code": 2, "message": error}).decode()
        else:
            status = _FAILED if code >= 500 else _OK
        name, attributes = fixed
        return _SPAN % (trace_id, span_id, ids, name, start, end, attributes, _CODE % code if code else "", status)

    def _run(self) -> None:
        said = 0
        while True:
            self._wake.wait(EXPORT_SECONDS)
            self._wake.clear()
            self._export_waiting()
            if self.dropped > said:  # the exporter falls behind (a slow or unreachable collector)
                _log.warning(
                    "%d server spans dropped: more than %d waited to be exported", self.dropped - said, MAX_QUEUE
                )
                said = self.dropped
            if self._stop and not self._queue:
                return

    def _export_waiting(self) -> None:
        while self._queue:
            kept = []
            while self._queue and len(kept) < MAX_BATCH:
                kept.append(self._queue.popleft())
            try:
                spans = [self._encoded(span) for span in kept]
                self._exporter.send(request_json([(*self._group, spans)]), len(spans))
            except Exception:  # an exporter that breaks its contract loses this batch, never the server
                _log.exception("%d server spans not exported", len(kept))
            with self._exported:
                self._done += len(kept)
                self._exported.notify_all()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the spans ended before this call are exported."""
        with self._exported:
            target = self._ended
            self._wake.set()
            return self._exported.wait_for(lambda: self._done >= target, timeout_s)

    def shutdown(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=30)
