"""The prediction routes of every protocol, served as plain ASGI in front of FastAPI's router.

Profiled (py-spy, 1 row, 32 connections): FastAPI's routing, request object, parameter solving
and response classes cost more CPU than parsing, routing, scoring and answering the request
together. These routes take no parameters FastAPI could check better than the data plane does,
so the protocols' declared hot routes (`serving.protocol.HotRoute`) are matched here and handed the
body and headers directly; everything else (the docs, the control routes, a method a route does not
allow) goes on to FastAPI. The protocols' routers still document them in the OpenAPI and call the
same handlers.

`HotPath` is the innermost middleware, so the request id, the body limit and the layers'
middleware (e.g. metrics) wrap it as they wrap FastAPI's router. `ModelServerApp` goes one step
further: a request for a hot route whose Content-Length is within MAX_BODY_BYTES enters that same
middleware chain (the app's `user_middleware`, less the body limit it already meets) directly,
skipping FastAPI's own wrappers (error, body-limit and telemetry middleware, exception
handling, routing): a third of the CPU of a one-row request. Tracing on, the OpenTelemetry
instrumentation wraps FastAPI's stack (the control routes' spans); a hot request is sampled here, at
the edge, as a parent-based ratio sampler would (a `traceparent` that says sampled: traced; one that
says not: not; none: traced with probability TRACING_SAMPLE_RATIO), and a traced one stays on the
direct path inside a server span of its own (`tracing.server_span`, named and parented as the
instrumentation's): through the instrumented stack a traced request cost 4x an untraced one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from fastapi import FastAPI, HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from mlops_base import tracing
from serving.credentials import Credentials
from serving.direct_hook import DirectHook
from serving.errors import BodySizeLimit, ErrorAnswers, answering, declared_within, failure
from serving.inputs import PayloadError
from serving.protocol import HotRoutes
from serving.reply import Reply
from serving.runtimes.base import ModelLoadError
from serving.scope_keys import ANSWERED, DEFERRED, HOT, NOT_PREDICTION, REQUEST_ID, TRACED

# the headers the handlers read
READ = {b"content-type", b"x-client-id", b"content-encoding", b"inference-header-content-length"}
CREDENTIAL_HEADERS = {b"authorization", b"x-token"}
SAMPLED_FLAGS = frozenset(format(flags, "02x").encode() for flags in range(256) if flags & 1)
Handler = Callable[[bytes, dict[str, str]], Awaitable[Reply]]


class Answered(NamedTuple):
    """A hot route's whole answer. Its headers are valid without a check per request: the server's
    own names and values, a version the registry named is a number (`model_source.resolve`), the
    request id is checked (`serving.request_id`)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    after: Callable[[], None] | None = None  # run once the answer is written (`Reply.after`)


_log = logging.getLogger("serving.hot_path")


class HotPath:
    def __init__(self, app: ASGIApp, state: State, routes: HotRoutes, answers: ErrorAnswers):
        self.app = app
        self.state = state  # the app's: the data plane is set there when the lifespan starts
        self.routes = routes
        self.answers = answers
        credentials: Credentials = state.credentials
        # PREDICT_TOKEN set: every scoring request shows it; unset: not even a check per request
        self.guard = credentials if "predict" in credentials.scopes else None

    def handler(self, scope: Scope) -> Handler | None:
        """The handler of a hot route, once the data plane exists; None: FastAPI answers."""
        if scope["type"] != "http" or scope["method"] != "POST" or not hasattr(self.state, "plane"):
            return None
        found = self.routes.match(scope["path"])
        if found is None:
            return None
        route, params = found
        if route.checks and not route.accepts(params):
            return None
        if route.kind != "prediction":
            scope[NOT_PREDICTION] = route.kind
        plane, handler = self.state.plane, route.handler
        return lambda body, headers: handler(plane, params, body, headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.pop(HOT, None) or self.handler(scope)
        if handler is None:
            await self.app(scope, receive, send)
            return
        answered = await self.answer(scope, handler, await _body(receive))
        await send({"type": "http.response.start", "status": answered.status, "headers": answered.headers})
        await send({"type": "http.response.body", "body": answered.body})
        if answered.after is not None:
            deferred = scope.get(DEFERRED)
            if deferred is not None:  # the front end runs it once the answer is written
                deferred.append(answered.after)
            else:
                await run_in_threadpool(answered.after)

    async def answer(self, scope: Scope, handler: Handler, body: bytes, hooks: tuple = ()) -> Answered:
        """The hot route's answer to `body`, or the error FastAPI's handlers would give; ANSWERED set.
        `hooks` (the request id, the request log: `enter`, `leave`) are called around it."""
        marks = [(hook, hook.enter(scope)) for hook in hooks]
        headers = {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in READ}
        try:
            if self.guard is not None:
                self._admit(scope)
            reply = await handler(body, headers)
        except (HTTPException, PayloadError, ModelLoadError) as exc:
            return self._error(scope, exc)
        except Exception as exc:  # what FastAPI's error middleware would answer, for the direct path too
            _log.exception("unexpected error on POST %s", scope["path"])
            return self._error(scope, exc)
        else:
            scope[ANSWERED] = ("200", reply.variant, reply.version)
            headers = [
                (b"content-type", reply.media.encode()),
                (b"content-length", str(len(reply.body)).encode()),
                (b"x-model-variant", reply.variant.encode()),
                (b"x-model-version", reply.version.encode()),
                *_request_id(scope),
            ]
            if reply.extra:  # (no generator made for none)
                headers += [(name.encode(), value.encode()) for name, value in reply.extra]
            return Answered(200, headers, reply.body, reply.after)
        finally:  # the log reads ANSWERED
            for hook, mark in reversed(marks):
                hook.leave(scope, mark)

    def _admit(self, scope: Scope) -> None:
        """HTTPException 401/403/429 unless the request carries the predict credential."""
        found = {name: value.decode("latin-1") for name, value in scope["headers"] if name in CREDENTIAL_HEADERS}
        client = scope["client"][0] if scope.get("client") else "unknown"
        self.guard.check("predict", client, found.get(b"authorization"), found.get(b"x-token"))

    def _error(self, scope: Scope, exc: Exception) -> Answered:
        """The answer FastAPI's exception handlers (`serving.errors`) give for the same failure,
        counted against the variant it happened on."""
        status, message, headers = failure(exc)
        rid = scope.get(REQUEST_ID)
        if rid is not None:
            headers = {**(headers or {}), "x-request-id": rid.decode()}
        response = self.answers.response(scope["path"], status, message, headers)
        scope[ANSWERED] = (str(response.status_code), *answering(exc))
        return Answered(response.status_code, response.raw_headers, bytes(response.body))


def _request_id(scope: Scope) -> list[tuple[bytes, bytes]]:
    rid = scope.get(REQUEST_ID)
    return [(b"x-request-id", rid)] if rid is not None else []


async def _body(receive: Receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


class ModelServerApp(FastAPI):
    """FastAPI, with requests for the hot routes sent straight into the app's middleware chain."""

    direct = True  # False: every request through FastAPI's stack (the tests compare both paths)
    # tracing on: the share of hot requests without a trace parent that go through the traced stack
    trace_ratio: float | None = None
    _hot_path: HotPath | None = None
    _direct_stack: ASGIApp | None = None
    _hooks: tuple = ()
    _max_body_bytes = 0

    def _traced(self, scope: Scope) -> bool:
        """The head sampling decision of a hot request (tracing on)."""
        for name, value in scope["headers"]:
            if name == b"traceparent":  # W3C: version-trace_id-parent_id-flags; bit 0 of flags: sampled
                return len(value) == 55 and value[-2:] in SAMPLED_FLAGS
        return random.random() < self.trace_ratio

    def _build_direct_stack(self) -> ASGIApp:
        """The user middleware, outermost first as FastAPI stacks it, around a HotPath of its own.
        Without the body limit: the direct path takes only bodies declared within it. The outermost
        ones that are `DirectHook`s (the request id, the request log, the monitoring layer's
        metrics) are called (`enter`, `leave`) around the rest instead of wrapping it: every
        coroutine in the chain costs each request's suspension, and with none left the path is bare."""
        app: ASGIApp | None = None
        for cls, args, kwargs in reversed(self.user_middleware):
            if cls is HotPath:
                app = self._hot_path = HotPath(self.router, *args, **kwargs)
            elif cls is BodySizeLimit:
                self._max_body_bytes = kwargs["max_bytes"]
            elif app is not None:
                app = cls(app, *args, **kwargs)
        if app is None:
            raise RuntimeError("the app has no HotPath middleware to answer hot routes with")
        hooks = []
        while isinstance(app, DirectHook):  # the request id, the log, a layer's (e.g. metrics)
            hooks.append(app)
            app = app.app
        self._hooks = tuple(hooks)
        return app

    def hot_handler(self, scope: Scope) -> Handler | None:
        """The handler of a request that takes the direct path (None: FastAPI's stack answers it)."""
        if self._direct_stack is None:
            self._direct_stack = self._build_direct_stack()
        handler = self._hot_path.handler(scope) if self.direct else None
        # a chunked body, or one over the limit: FastAPI's stack, whose BodySizeLimit counts it as it
        # streams in (the direct path would hold all of it before answering)
        if handler is None or not declared_within(scope, self._max_body_bytes):
            return None
        if self.trace_ratio is not None and self._traced(scope):
            scope[TRACED] = True
        return handler

    def call_direct(self, scope: Scope, handler: Handler, receive: Receive, send: Send) -> Awaitable[None]:
        """The request through the app's middleware to its hot route's `handler`."""
        scope["app"] = self
        scope[HOT] = handler
        if scope.pop(TRACED, False):
            return self._traced_direct(scope, receive, send)
        return self._hooked(scope, receive, send)

    @property
    def bare(self) -> bool:
        """No layer middleware on the direct path: a front end may take `answer_direct`'s value."""
        return self._direct_stack is self._hot_path

    def answer_direct(self, scope: Scope, handler: Handler, body: bytes) -> Awaitable[Answered]:
        """`call_direct` without ASGI messages, when the chain is bare (the request id and the log
        still called around it): ~6% less CPU a request than through the messages' closures,
        dictionaries and header checks, measured."""
        scope["app"] = self
        if scope.pop(TRACED, False):
            return self._traced_answer(scope, handler, body)
        return self._hot_path.answer(scope, handler, body, self._hooks)

    async def _traced_answer(self, scope: Scope, handler: Handler, body: bytes) -> Answered:
        with self._server_span(scope) as answered:
            result = await self._hot_path.answer(scope, handler, body, self._hooks)
            answered(result.status)
        return result

    async def _hooked(self, scope: Scope, receive: Receive, send: Send) -> None:
        marks = [(hook, hook.enter(scope)) for hook in self._hooks]
        try:
            await self._direct_stack(scope, receive, send)
        finally:
            for hook, mark in reversed(marks):
                hook.leave(scope, mark)

    async def _traced_direct(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self._server_span(scope) as answered:
            await self._hooked(scope, receive, send)
            answered(int(scope.get(ANSWERED, ("500",))[0]))

    def _server_span(self, scope: Scope):
        route = self._hot_path.routes.match(scope["path"])[0].pattern
        return tracing.server_span(scope["method"], route, scope["path"], scope["headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.hot_handler(scope)
        if handler is not None:
            await self.call_direct(scope, handler, receive, send)
            return
        await super().__call__(scope, receive, send)
