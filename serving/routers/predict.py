"""Prediction: routed by the selection mode, or addressed to one alias. Translates the body to rows
and the answer to bytes; the data plane does the rest.

The hot path reads the body itself (see `serving.payload`): FastAPI's body model would build the
rows as Python objects and validate the response again, which cost more than the prediction.
The request and response schemas are still the ones the OpenAPI shows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from mlops_base.aliases import Alias
from serving.data_plane import Answer, DataPlane
from serving.payload import answer_bytes, check_json, parse_inputs
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


def _response(answer: Answer) -> Response:
    ref = answer.info.ref
    body = answer_bytes(answer.alias.value, ref.version, ref.run_id, answer.predictions, answer.probabilities)
    # the variant in headers too, so middleware (e.g. metrics) can see who answered
    headers = {"x-model-variant": answer.alias.value, "x-model-version": ref.version}
    return Response(body, media_type="application/json", headers=headers)


@router.post("/predict", response_model=None, responses=RESPONSES, openapi_extra=REQUEST_BODY)
async def predict(
    request: Request, x_client_id: Annotated[str | None, Header(description="sticky routing key")] = None
) -> Response:
    """Score rows on the alias the routing mode picks for this client."""
    plane: DataPlane = request.app.state.plane  # not through dependencies: each costs ~2% of a one-row request
    check_json(request.headers.get("content-type"))
    inputs = parse_inputs(await request.body(), plane.other_forms)
    answer, shadow = await plane.predict(inputs, x_client_id)
    response = _response(answer)
    if shadow is not None:
        response.background = shadow
    return response


@router.post("/variant/{alias}/predict", response_model=None, responses=RESPONSES, openapi_extra=REQUEST_BODY)
async def predict_variant(alias: Alias, request: Request) -> Response:
    """Score rows on one alias explicitly (A = champion, B = challenger)."""
    plane: DataPlane = request.app.state.plane
    check_json(request.headers.get("content-type"))
    inputs = parse_inputs(await request.body(), plane.other_forms)
    return _response(await plane.predict_alias(alias, inputs))
