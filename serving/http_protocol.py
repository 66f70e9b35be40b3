"""uvicorn's httptools protocol, with the scoring requests answered in one write.

Profiled at 1 row x 32 connections, uvicorn's own work per response was a fifth of the server's
CPU: its ASGI `send` checks every header with two regular expressions and writes the status line
and headers, then the body, as two writes (two system calls) of their own; its `run_asgi` wraps
the call. For the hot routes (`ModelServerApp.hot_handler`) this protocol waits for the body as
uvicorn's `receive` would, runs the app's direct stack (the same middleware: request id, request
log, the layers'; the body is declared within the limit) with a `send` that collects the answer,
and writes it at once: measured, 12% less CPU per request. Everything else (control routes, docs, an `Expect:
100-continue`, a chunked body, a traced request, a server over its concurrency limit) takes
uvicorn's own path.

It leans on uvicorn's `RequestResponseCycle` state (the body, the events, keep-alive, flow
control): `tests/serving/test_http_protocol.py` drives keep-alive, pipelining, HTTP/1.0, chunked
and oversized bodies, a failing layer and a disconnecting client through it, so an upgrade of
uvicorn that changes them fails there.
"""

from __future__ import annotations

import contextvars
import logging

from starlette.concurrency import run_in_threadpool
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from serving.hot_path import Handler
from serving.scope_keys import DEFERRED

_log = logging.getLogger("serving.http_protocol")
INTERNAL_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)


class ModelServerProtocol(HttpToolsProtocol):
    def _start_asgi_task(self, cycle: RequestResponseCycle, app) -> None:
        hot = getattr(app, "hot_handler", None)  # app: the model server, or uvicorn's 503 when over its limit
        handler = hot(cycle.scope) if hot is not None and not cycle.waiting_for_100_continue else None
        if handler is None:
            super()._start_asgi_task(cycle, app)
            return
        context = contextvars.Context() if self.config.reset_contextvars else None
        task = self.loop.create_task(_answer(cycle, app, handler), context=context)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)


async def _answer(cycle: RequestResponseCycle, app, handler: Handler) -> None:
    while cycle.more_body and not cycle.disconnected:  # as uvicorn's receive: the whole body first
        cycle.flow.resume_reading()
        await cycle.message_event.wait()
        cycle.message_event.clear()
    if cycle.disconnected:
        return
    body, cycle.body = bytes(cycle.body), bytearray()
    after: list = []
    try:
        if app.bare:
            answered = await app.answer_direct(cycle.scope, handler, body)
            answer = _written(cycle, answered.status, answered.headers, answered.body)
            if answered.after is not None:
                after.append(answered.after)
        else:
            answer = await _through_middleware(cycle, app, handler, body, after)
    except Exception:  # a layer's middleware failed, or answered nothing valid: uvicorn's 500
        _log.exception("unexpected error on POST %s", cycle.scope.get("path"))
        answer, cycle.keep_alive = INTERNAL_ERROR, False
    if cycle.disconnected:
        return
    if cycle.flow.write_paused:
        await cycle.flow.drain()
    cycle.transport.write(answer)
    cycle.response_started = cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()
    for task in after:  # a shadow scoring: once the answer is on its way
        await run_in_threadpool(task)


async def _through_middleware(cycle: RequestResponseCycle, app, handler: Handler, body: bytes, after: list) -> bytes:
    """The answer of the app's direct stack (the layers' middleware in it), collected from its
    messages; their headers checked as uvicorn's send does."""
    start: dict | None = None
    chunks: list[bytes] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        else:
            chunks.append(message.get("body", b""))

    cycle.scope[DEFERRED] = after
    await app.call_direct(cycle.scope, handler, receive, send)
    if start is None:
        raise RuntimeError("the app answered no response start")
    headers = start.get("headers", ())
    for name, value in headers:
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
            raise RuntimeError("invalid HTTP header")
    return _written(cycle, start["status"], headers, b"".join(chunks))


def _written(cycle: RequestResponseCycle, status: int, headers, data: bytes) -> bytes:
    """The status line, headers and body as one buffer."""
    content = [STATUS_LINE[status]]
    has_length = False
    for name, value in (*cycle.default_headers, *headers):
        lowered = name.lower()
        if lowered == b"content-length":
            if int(value) != len(data):
                raise RuntimeError("Content-Length does not match the body")
            has_length = True
        elif lowered == b"connection" and b"close" in value.lower():
            cycle.keep_alive = False
            continue  # written once, below
        content += (name, b": ", value, b"\r\n")
    if not has_length:
        content += (b"content-length: ", str(len(data)).encode(), b"\r\n")
    if not cycle.keep_alive:
        content.append(b"connection: close\r\n")
    content += (b"\r\n", data)
    return b"".join(content)
