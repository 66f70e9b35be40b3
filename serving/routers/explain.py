"""Explanations: per row, one additive attribution per input column, for the version that answers
the row (routed as /predict routes it, or addressed to one alias). The body is /predict's.

Computed in the explain thread (`serving.explain_thread`, at the lowest CPU priority), one at a
time, at most EXPLAIN_MAX_ROWS rows, answered within EXPLAIN_TIMEOUT_S or 504: /predict's event loop
never waits for one. Answered on the hot path as predictions are (without FastAPI's stack: less of
the loop's time taken from /predict), but never counted as predictions."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from fastapi import APIRouter, Request, Response

from mlops_base.aliases import ALIASES, Alias
from serving.data_plane import DataPlane
from serving.dependencies import ScoringAuth, credential_responses
from serving.inputs import check_json, decompress
from serving.openapi_doc import CLIENT_ID_HEADER
from serving.predict_codec import parse_inputs
from serving.protocol import HotRoute, Protocol
from serving.reply import Headers, Reply, response_of
from serving.routers import predict
from serving.routers.predict import REQUEST_BODY
from serving.schemas import ErrorResponse, ExplainResponse

router = APIRouter(tags=["explain"], dependencies=[ScoringAuth])

RESPONSES = {
    **predict.RESPONSES,  # the body is /predict's: its refusals are these
    200: {"model": ExplainResponse, "description": "per row, an attribution per input column and output"},
    422: {
        "model": ErrorResponse,
        "description": "invalid input, more than EXPLAIN_MAX_ROWS rows, or a model this server cannot explain "
        "(served by Triton, or a version without the background its method needs)",
    },
    503: {"model": ErrorResponse, "description": "no model loaded for that alias"},
    504: {"model": ErrorResponse, "description": "no explanation within EXPLAIN_TIMEOUT_S"},
    **credential_responses("predict"),  # as /predict: when PREDICT_TOKEN is set (prod)
}


async def _explained(plane: DataPlane, alias: Alias | None, body: bytes, headers: Headers) -> Reply:
    check_json(headers.get("content-type"))
    if "content-encoding" in headers:
        body = decompress(body, headers["content-encoding"], plane.settings.max_body_bytes)
    answered, info, explanation = await plane.explain(parse_inputs(body), alias, headers.get("x-client-id"))
    document = {"variant": answered.value, "version": info.ref.version, "run_id": info.ref.run_id}
    return Reply(orjson.dumps({**document, **explanation.fields()}), answered.value, info.ref.version)


async def explain_routed(plane: DataPlane, _: Mapping[str, str], body: bytes, headers: Headers) -> Reply:
    return await _explained(plane, None, body, headers)


async def explain_on(plane: DataPlane, params: Mapping[str, str], body: bytes, headers: Headers) -> Reply:
    return await _explained(plane, Alias(params["alias"]), body, headers)


# Served by `serving.hot_path` (not counted as predictions); these routes document them (and answer
# when the app runs without it).
@router.post(
    "/explain",
    response_model=None,
    responses=RESPONSES,
    openapi_extra={**REQUEST_BODY, "parameters": [CLIENT_ID_HEADER]},
)
async def explain(request: Request) -> Response:
    """Explain rows on the alias the routing mode picks for this client (the one /predict answers with)."""
    return response_of(await explain_routed(request.app.state.plane, {}, await request.body(), request.headers))


@router.post("/variant/{alias}/explain", response_model=None, responses=RESPONSES, openapi_extra=REQUEST_BODY)
async def explain_variant(alias: Alias, request: Request) -> Response:
    """Explain rows on one alias explicitly (A = champion, B = challenger)."""
    params = {"alias": alias}
    return response_of(await explain_on(request.app.state.plane, params, await request.body(), request.headers))


PROTOCOL = Protocol(
    "explain",
    router,
    hot_routes=(
        HotRoute("/explain", explain_routed, kind="explanation"),
        HotRoute("/variant/{alias}/explain", explain_on, allowed={"alias": frozenset(ALIASES)}, kind="explanation"),
    ),
)
