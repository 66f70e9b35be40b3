"""Prediction: routed by the selection mode, or addressed to one alias. Translates the body to rows
and the answer to bytes; the data plane does the rest.

The hot path reads the body itself (see `serving.predict_codec`): FastAPI's body model would build the
rows as Python objects and validate the response again, which cost more than the prediction.
The request and response schemas are still the ones the OpenAPI shows.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from fastapi import APIRouter, Request, Response

from mlops_base.aliases import ALIASES, Alias
from serving.data_plane import Answer, DataPlane
from serving.inputs import check_json, decompress
from serving.openapi_doc import CLIENT_ID_HEADER, describe_columns
from serving.predict_codec import answer_bytes, parse_inputs
from serving.protocol import HotRoute, Protocol
from serving.reply import Headers, Reply, reply_of, response_of
from serving.schemas import (
    DataframeRecordsRequest,
    DataframeSplitRequest,
    ErrorResponse,
    PredictRequest,
    PredictResponse,
)

router = APIRouter(tags=["predict"])

RESPONSES = {
    200: {"model": PredictResponse, "description": "the answering variant, its version and one prediction per row"},
    400: {"model": ErrorResponse, "description": "body is not UTF-8"},
    404: {"model": ErrorResponse, "description": "unknown alias"},
    413: {"model": ErrorResponse, "description": "body too large"},
    415: {"model": ErrorResponse, "description": "body declared as something else than JSON"},
    422: {"model": ErrorResponse, "description": "invalid input, named in `detail` (row and column)"},
    503: {"model": ErrorResponse, "description": "no model loaded for that alias, or its backend (Triton) unreachable"},
    504: {"model": ErrorResponse, "description": "with explain: no explanation within EXPLAIN_TIMEOUT_S"},
}
# read from the body by hand, so added to the OpenAPI components by the app
SCHEMAS = [PredictRequest, DataframeSplitRequest, DataframeRecordsRequest]
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "one of three forms: positional `data` (all-numeric models), or MLflow's named-column "
        "`dataframe_split` / `dataframe_records` (the loaded models' columns: GET /models)",
        "content": {
            "application/json": {
                "schema": {"oneOf": [{"$ref": f"#/components/schemas/{model.__name__}"} for model in SCHEMAS]}
            }
        },
    }
}
CLIENT_ID = {"parameters": [CLIENT_ID_HEADER]}


def _body(answer: Answer) -> bytes:
    ref = answer.info.ref
    return answer_bytes(answer.alias.value, ref.version, ref.run_id, answer.predictions, answer.probabilities)


def _explained(answer: Answer) -> bytes:
    """The answer with the rows' explanations ("explain": true), by the version that answered them."""
    return orjson.dumps({**orjson.loads(_body(answer)), **answer.explanation.fields()})


async def predict_routed(plane: DataPlane, _: Mapping[str, str], body: bytes, headers: Headers) -> Reply:
    check_json(headers.get("content-type"))
    if "content-encoding" in headers:  # a compressed body (no call per request without one)
        body = decompress(body, headers["content-encoding"], plane.settings.max_body_bytes)
    inputs = parse_inputs(body, plane.other_forms)
    answer, shadow = await plane.predict(inputs, headers.get("x-client-id"))
    return reply_of(answer, _explained(answer) if inputs.explain else _body(answer), shadow)


async def predict_on(plane: DataPlane, params: Mapping[str, str], body: bytes, headers: Headers) -> Reply:
    check_json(headers.get("content-type"))
    if "content-encoding" in headers:
        body = decompress(body, headers["content-encoding"], plane.settings.max_body_bytes)
    inputs = parse_inputs(body, plane.other_forms)
    answer = await plane.predict_alias(Alias(params["alias"]), inputs)
    return reply_of(answer, _explained(answer) if inputs.explain else _body(answer))


# Served by `serving.hot_path`; these routes document them (and answer when the app runs without it).
@router.post("/predict", response_model=None, responses=RESPONSES, openapi_extra={**REQUEST_BODY, **CLIENT_ID})
async def predict(request: Request) -> Response:
    """Score rows on the alias the routing mode picks for this client."""
    return response_of(await predict_routed(request.app.state.plane, {}, await request.body(), request.headers))


@router.post("/variant/{alias}/predict", response_model=None, responses=RESPONSES, openapi_extra=REQUEST_BODY)
async def predict_variant(alias: Alias, request: Request) -> Response:
    """Score rows on one alias explicitly (A = champion, B = challenger)."""
    params = {"alias": alias}
    return response_of(await predict_on(request.app.state.plane, params, await request.body(), request.headers))


PROTOCOL = Protocol(
    "predict",
    router,
    hot_routes=(
        HotRoute("/predict", predict_routed),
        HotRoute(
            "/variant/{alias}/predict",
            predict_on,
            allowed={"alias": frozenset(ALIASES)},  # an unknown one: FastAPI's route answers its 404
        ),
    ),
    schemas=tuple(SCHEMAS),
    document=describe_columns,
)
