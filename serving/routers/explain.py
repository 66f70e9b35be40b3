"""Explanations: per row, one additive attribution per input column, for the version that answers
the row (routed as /predict routes it, or addressed to one alias). The body is /predict's.

Computed in a worker thread, one at a time, at most EXPLAIN_MAX_ROWS rows, answered within
EXPLAIN_TIMEOUT_S or 504: /predict's event loop never waits for one."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from mlops_base.aliases import Alias
from serving.dependencies import ScoringAuth, credential_responses
from serving.inputs import check_json, decompress
from serving.openapi_doc import CLIENT_ID_HEADER
from serving.predict_codec import parse_inputs
from serving.protocol import Protocol
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


async def _explained(request: Request, alias: Alias | None) -> Response:
    plane = request.app.state.plane
    check_json(request.headers.get("content-type"))
    body = await request.body()
    if "content-encoding" in request.headers:
        body = decompress(body, request.headers["content-encoding"], plane.settings.max_body_bytes)
    answered, info, explanation = await plane.explain(parse_inputs(body), alias, request.headers.get("x-client-id"))
    document = {"variant": answered.value, "version": info.ref.version, "run_id": info.ref.run_id}
    return Response(orjson.dumps({**document, **explanation.fields()}), media_type="application/json")


@router.post(
    "/explain",
    response_model=None,
    responses=RESPONSES,
    openapi_extra={**REQUEST_BODY, "parameters": [CLIENT_ID_HEADER]},
)
async def explain(request: Request) -> Response:
    """Explain rows on the alias the routing mode picks for this client (the one /predict answers with)."""
    return await _explained(request, None)


@router.post("/variant/{alias}/explain", response_model=None, responses=RESPONSES, openapi_extra=REQUEST_BODY)
async def explain_variant(alias: Alias, request: Request) -> Response:
    """Explain rows on one alias explicitly (A = champion, B = challenger)."""
    return await _explained(request, alias)


PROTOCOL = Protocol("explain", router)
