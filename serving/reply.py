"""What a prediction route answers, in a form both front ends send: the lean ASGI path
(`serving.hot_path`) writes it straight to the connection, FastAPI's routes wrap it in a Response."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from starlette.background import BackgroundTask
from starlette.responses import Response

from serving.data_plane import Answer

JSON = "application/json"
PREDICTION_ID = "x-prediction-id"
Headers = Mapping[str, str]
"""The request's headers by lower-case name (Starlette's `Headers`, or the hot path's dict)."""


class Reply(NamedTuple):
    body: bytes
    variant: str  # also sent as headers, so middleware (e.g. metrics) sees who answered
    version: str
    media: str = JSON
    extra: tuple[tuple[str, str], ...] = ()  # more headers
    after: Callable[[], None] | None = None  # run after the response is sent (a shadow scoring)


def reply_of(
    answer: Answer, body: bytes, after: Callable[[], None] | None = None, media: str = JSON, extra: tuple = ()
) -> Reply:
    if answer.prediction_id is not None:  # what POST /feedback names this prediction by
        extra = (*extra, (PREDICTION_ID, answer.prediction_id))
    return Reply(body, answer.alias.value, answer.info.ref.version, media, extra, after)


def response_of(reply: Reply) -> Response:
    headers = {"x-model-variant": reply.variant, "x-model-version": reply.version, **dict(reply.extra)}
    background = BackgroundTask(reply.after) if reply.after is not None else None
    return Response(reply.body, media_type=reply.media, headers=headers, background=background)
