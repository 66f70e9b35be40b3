"""Every request gets an id: the caller's `x-request-id` (when it is a sane token) or a new one,
returned in the response and set for the log records written while serving it."""

from __future__ import annotations

import itertools
import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlops_base.log_context import request_id
from serving.scope_keys import HOT, REQUEST_ID

HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
# 32 hex characters: a random prefix per process and a counter (uuid4 costs ~3 us a request, this ~0.3)
_PREFIX = os.urandom(8).hex()
_COUNTER = itertools.count()


def new_id() -> bytes:
    return f"{_PREFIX}{next(_COUNTER):016x}".encode()


class RequestId:
    """Pure ASGI middleware (a few microseconds a request)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), None)
        rid = given if given is not None and _SANE.match(given) else new_id()
        token = request_id.set(rid.decode())
        if HOT in scope:  # it sends the id itself: no wrapper around each message
            scope[REQUEST_ID] = rid
            try:
                await self.app(scope, receive, send)
            finally:
                request_id.reset(token)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, rid)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
