"""The prediction routes of every protocol, served as plain ASGI in front of FastAPI's router.

Profiled (py-spy, 1 row, 32 connections): FastAPI's routing, request object, parameter solving
and response classes cost more CPU than parsing, routing, scoring and answering the request
together. These routes take no parameters FastAPI could check better than the data plane does,
so they are matched here by path and handed the body and headers directly; everything else (the
docs, the control routes, a method a route does not allow) goes on to FastAPI. The routes in
`serving.routers` still document them in the OpenAPI and call the same handlers.

Installed as the innermost middleware: the request id, the body limit and the layers' middleware
(e.g. metrics) wrap it as they wrap FastAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from mlops_base.aliases import ALIASES, Alias
from serving.errors import error_response
from serving.payload_error import PayloadError
from serving.reply import Reply
from serving.routers.mlflow_scoring import invoke
from serving.routers.open_inference import infer_on
from serving.routers.predict import predict_on, predict_routed
from serving.runtimes.base import ModelLoadError

# the headers the handlers read
READ = {b"content-type", b"x-client-id", b"content-encoding", b"inference-header-content-length"}
Handler = Callable[[bytes, dict[str, str]], Awaitable[Reply]]


class HotPath:
    def __init__(self, app: ASGIApp, state: State):
        self.app = app
        self.state = state  # the app's: the data plane is set there when the lifespan starts

    def _handler(self, path: str) -> Handler | None:
        plane = self.state.plane
        if path == "/predict":
            return lambda body, headers: predict_routed(plane, body, headers)
        if path == "/invocations":
            return lambda body, headers: invoke(plane, body, headers)
        if path.startswith("/variant/") and path.endswith("/predict"):
            alias = path[9:-8]
            if alias in ALIASES:  # an unknown one: FastAPI's route answers its 404
                return lambda body, headers: predict_on(plane, Alias(alias), body, headers)
            return None
        if path.startswith("/v2/models/") and path.endswith("/infer"):
            parts = path[11:-6].split("/")
            if len(parts) == 1 and parts[0]:
                return lambda body, headers: infer_on(plane, parts[0], None, body, headers)
            if len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
                return lambda body, headers: infer_on(plane, parts[0], parts[2], body, headers)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        if scope["type"] == "http" and scope["method"] == "POST" and hasattr(self.state, "plane"):
            handler = self._handler(scope["path"])
        if handler is None:
            await self.app(scope, receive, send)
            return
        headers = {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in READ}
        try:
            reply = await handler(await _body(receive), headers)
        except (HTTPException, PayloadError, ModelLoadError) as exc:
            await _error(scope, receive, send, exc)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", reply.media.encode()),
                    (b"content-length", str(len(reply.body)).encode()),
                    (b"x-model-variant", reply.variant.encode()),
                    (b"x-model-version", reply.version.encode()),
                    *((name.encode(), value.encode()) for name, value in reply.extra),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})
        if reply.after is not None:
            await run_in_threadpool(reply.after)


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


async def _error(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """The answer FastAPI's exception handlers (`serving.errors`) give for the same failure."""
    if isinstance(exc, HTTPException):
        status, message, headers = exc.status_code, str(exc.detail), exc.headers
    elif isinstance(exc, PayloadError):
        status, message, headers = exc.status, exc.detail, None
    else:
        status, message, headers = exc.status, str(exc), None
    await error_response(scope["path"], status, message, headers)(scope, receive, send)
