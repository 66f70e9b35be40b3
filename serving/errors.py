"""Every failure becomes a JSON error naming the problem: no 500 for bad input, no stack traces."""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlops_base.aliases import ALIASES
from mlops_base.echo import quoted
from serving.inputs import PayloadError, describe_errors
from serving.protocol import Protocol, error_shape
from serving.runtimes.base import ModelLoadError

log = logging.getLogger("serving.errors")


class ErrorAnswers:
    """Failures answered in the shape of the protocol that owns the path (`{"detail": ...}` unless it
    declares another, e.g. the Open Inference Protocol's `{"error": ...}` and 400)."""

    def __init__(self, protocols: tuple[Protocol, ...]):
        self.protocols = protocols

    def response(self, path: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        status, body = error_shape(self.protocols, path)(status, message)
        return JSONResponse(body, status_code=status, headers=headers)

    async def validation_error(self, request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(tuple(e.get("loc", ())) == ("path", "alias") for e in errors):
            alias = request.path_params.get("alias")
            return self.response(request.url.path, 404, f"unknown alias {quoted(alias)}; known: {', '.join(ALIASES)}")
        located = [{**e, "loc": tuple(part for part in e.get("loc", ()) if part != "body")} for e in errors]
        return self.response(request.url.path, 422, describe_errors(located))

    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (204, 304):
            return await http_exception_handler(request, exc)
        return self.response(request.url.path, *failure(exc))

    async def known_error(self, request: Request, exc: PayloadError | ModelLoadError) -> JSONResponse:
        return self.response(request.url.path, *failure(exc))

    async def unexpected(self, request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return self.response(request.url.path, *failure(exc))


_ANSWERING = "mlops_answering"


def mark_answering(exc: BaseException, alias: str, version: str | None) -> None:
    """Note on a failure which variant and version it happened on (the routing had chosen them),
    so its error is counted against them, not against no one."""
    setattr(exc, _ANSWERING, (alias, version or "none"))


def answering(exc: BaseException) -> tuple[str, str]:
    """(variant, version) a failure happened on; ("none", "none") when it failed before a variant was chosen."""
    return getattr(exc, _ANSWERING, ("none", "none"))


def failure(exc: Exception) -> tuple[int, str, dict[str, str] | None]:
    """Status, message and headers of a failure: FastAPI's handlers and the hot path answer alike."""
    if isinstance(exc, StarletteHTTPException):  # FastAPI's HTTPException is one too
        return exc.status_code, str(exc.detail), exc.headers
    if isinstance(exc, PayloadError):
        return exc.status, exc.detail, None
    if isinstance(exc, ModelLoadError):
        return exc.status, str(exc), None
    return 500, f"internal error ({type(exc).__name__})", None


class _TooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing passes it through as a 413 (not a 400)."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"request body exceeds {max_bytes} bytes")


class BodySizeLimit:
    """413 for bodies over the limit, whether sent with a Content-Length or streamed chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int, answers: ErrorAnswers):
        self.app = app
        self.max_bytes = max_bytes
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or declared_within(scope, self.max_bytes):
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
                await self._reject(scope["path"], send)

    async def _reject(self, path: str, send: Send) -> None:
        response = self.answers.response(path, 413, f"request body exceeds {self.max_bytes} bytes")
        await response({"type": "http"}, _no_body, send)


def declared_within(scope: Scope, max_bytes: int) -> bool:
    """A Content-Length within the limit, no Transfer-Encoding: the server reads no byte past it,
    so nothing to count."""
    length = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            return False
    return length is not None and length.isascii() and length.isdigit() and int(length) <= max_bytes


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def install(app: FastAPI, max_body_bytes: int, answers: ErrorAnswers) -> None:
    app.add_exception_handler(RequestValidationError, answers.validation_error)
    app.add_exception_handler(StarletteHTTPException, answers.http_error)
    app.add_exception_handler(ModelLoadError, answers.known_error)
    app.add_exception_handler(PayloadError, answers.known_error)
    app.add_exception_handler(Exception, answers.unexpected)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes, answers=answers)
