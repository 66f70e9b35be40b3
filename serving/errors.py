"""Every failure becomes a JSON error naming the problem: no 500 for bad input, no stack traces."""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlops_base.aliases import ALIASES
from serving.payload import PayloadError, describe_errors
from serving.runtimes.base import ModelLoadError

log = logging.getLogger("serving.errors")


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(tuple(e.get("loc", ())) == ("path", "alias") for e in errors):
        alias = request.path_params.get("alias")
        return JSONResponse({"detail": f"unknown alias {alias!r}; known: {', '.join(ALIASES)}"}, status_code=404)
    located = [{**e, "loc": tuple(part for part in e.get("loc", ()) if part != "body")} for e in errors]
    return JSONResponse({"detail": describe_errors(located)}, status_code=422)


async def _payload_error(request: Request, exc: PayloadError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def _model_load_error(request: Request, exc: ModelLoadError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)


class _TooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing passes it through as a 413 (not a 400)."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"request body exceeds {max_bytes} bytes")


class BodySizeLimit:
    """413 for bodies over the limit, whether sent with a Content-Length or streamed chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # counted as the route reads it, declared or chunked: a route that refuses the request
        # first (an unknown alias: 404) says so without reading the body
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body exceeds {self.max_bytes} bytes"}, status_code=413)
        await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def install(app: FastAPI, max_body_bytes: int) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ModelLoadError, _model_load_error)
    app.add_exception_handler(PayloadError, _payload_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
