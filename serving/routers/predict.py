"""Prediction: routed by the selection mode, or addressed to one alias.

The hot path reads the body itself (see `serving.payload`): FastAPI's body model would build the
rows as Python objects and validate the response again, which cost more than the prediction.
The request and response schemas are still the ones the OpenAPI shows.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import numpy as np
from fastapi import APIRouter, Header, HTTPException, Request, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from mlops_base.aliases import Alias
from optional_layers.hookspecs import RowsRejected
from serving.payload import OtherForm, PayloadError, Rows, answer_bytes, check_json, check_shape, parse_rows
from serving.runtimes.base import RuntimeUnavailable
from serving.schemas import ErrorResponse, PredictRequest, PredictResponse
from serving.shadow import ShadowStats
from serving.traffic_split import NoModelLoaded, bucket, route
from serving.variants import VariantRegistry

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
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
    }
}
SCHEMAS = [PredictRequest]  # read from the body by hand, so added to the OpenAPI components by the app


class Answer(NamedTuple):
    response: Response
    rows: np.ndarray
    predictions: Any


async def _layer_rows(state, document: OtherForm, info) -> Rows:
    """The rows a layer provides for another body form, for the model version that answers."""
    settings = state.settings
    try:
        rows = await run_in_threadpool(
            state.layers.request_rows,
            dict(document),
            info.ref.model_name,
            info.ref.version,
            info.feature_names,
            settings,
        )
    except RowsRejected as exc:
        raise PayloadError(422, str(exc)) from exc
    except Exception as exc:  # the layer's store is down or broken: this request fails, the server serves on
        raise HTTPException(503, f"rows for {sorted(document)} could not be fetched: {exc}") from exc
    if rows is None:
        raise PayloadError(422, f"body has no `data` and no layer reads its form (keys: {sorted(document)})")
    return np.asarray(rows, dtype=np.float64)


async def _answer(state, alias: Alias, rows: Rows | OtherForm) -> Answer:
    variants: VariantRegistry = state.variants
    with variants.lease(alias) as runtime:
        if runtime is None:
            raise HTTPException(503, f"alias {alias} has no model loaded")
        info = runtime.info
        if isinstance(rows, OtherForm):
            rows = await _layer_rows(state, rows, info)
        array = check_shape(rows, info.feature_names, state.settings.max_rows)
        try:
            predictions = await variants.score(runtime, array)
        except ValueError as exc:
            raise PayloadError(422, f"the model rejected the input: {exc}") from exc
        except RuntimeUnavailable as exc:  # this variant's Triton is down; the other variant serves on
            raise HTTPException(503, f"alias {alias} cannot answer now: {exc}") from exc
    ref = info.ref
    body = answer_bytes(alias.value, ref.version, ref.run_id, predictions)
    # the variant in headers too, so middleware (e.g. metrics) can see who answered
    headers = {"x-model-variant": alias.value, "x-model-version": ref.version}
    return Answer(Response(body, media_type="application/json", headers=headers), array, predictions)


@router.post("/predict", response_model=None, responses=RESPONSES, openapi_extra=REQUEST_BODY)
async def predict(
    request: Request, x_client_id: Annotated[str | None, Header(description="sticky routing key")] = None
) -> Response:
    """Score rows on the alias the routing mode picks for this client."""
    state = request.app.state  # not through dependencies: each costs ~2% of a one-row request
    check_json(request.headers.get("content-type"))
    rows = parse_rows(await request.body(), state.other_forms)
    try:
        chosen = route(state.settings, bucket(x_client_id), state.variants.loaded())
    except NoModelLoaded as exc:
        raise HTTPException(503, str(exc)) from exc
    answer = await _answer(state, chosen.alias, rows)
    if chosen.shadow is not None:
        answer.response.background = BackgroundTask(
            _shadow_score, state.variants, chosen.shadow, state.shadow, answer.rows, answer.predictions
        )
    return answer.response


def _shadow_score(variants: VariantRegistry, alias: Alias, stats: ShadowStats, rows: np.ndarray, answered: Any) -> None:
    """After the response: the shadow alias scores a copy, under its own lease (in a worker thread)."""
    with variants.lease(alias) as runtime:
        if runtime is not None and runtime.n_features == rows.shape[1]:
            stats.record(runtime, rows, answered)


@router.post("/variant/{alias}/predict", response_model=None, responses=RESPONSES, openapi_extra=REQUEST_BODY)
async def predict_variant(alias: Alias, request: Request) -> Response:
    """Score rows on one alias explicitly (A = champion, B = challenger)."""
    state = request.app.state
    check_json(request.headers.get("content-type"))
    rows = parse_rows(await request.body(), state.other_forms)
    return (await _answer(state, alias, rows)).response
