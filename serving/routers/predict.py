"""Prediction: routed by the selection mode, or addressed to one alias."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Response
from starlette.concurrency import run_in_threadpool

from mlops_base.aliases import Alias
from serving.dependencies import SettingsDep, ShadowDep, VariantsDep
from serving.routing import NoModelLoaded, bucket, route
from serving.runtimes.base import ModelRuntime
from serving.schemas import ErrorResponse, PredictRequest, PredictResponse

router = APIRouter(tags=["predict"])

ERRORS = {
    404: {"model": ErrorResponse, "description": "unknown alias"},
    413: {"model": ErrorResponse, "description": "body too large"},
    422: {"model": ErrorResponse, "description": "invalid input, named in `detail`"},
    503: {"model": ErrorResponse, "description": "no model loaded for that alias"},
}


def _check_shape(rows: list[list[float]], runtime: ModelRuntime, max_rows: int) -> None:
    if not rows:
        raise HTTPException(422, "data: at least one row is required")
    if len(rows) > max_rows:
        raise HTTPException(422, f"data: {len(rows)} rows; at most {max_rows} per request")
    expected = runtime.n_features
    for i, row in enumerate(rows):
        if len(row) != expected:
            raise HTTPException(
                422, f"data.{i}: {len(row)} features; the model expects {expected} ({', '.join(runtime.info.feature_names)})"
            )


def _label(response: Response, answer: PredictResponse) -> PredictResponse:
    """Name the variant in headers too, so middleware (e.g. metrics) can see who answered."""
    response.headers["x-model-variant"] = answer.variant
    response.headers["x-model-version"] = answer.version
    return answer


async def _predict(variants: VariantsDep, alias: Alias, rows: list[list[float]], max_rows: int) -> PredictResponse:
    with variants.lease(alias) as runtime:
        if runtime is None:
            raise HTTPException(503, f"alias {alias} has no model loaded")
        _check_shape(rows, runtime, max_rows)
        try:
            predictions = await run_in_threadpool(runtime.predict, rows)
        except ValueError as exc:
            raise HTTPException(422, f"the model rejected the input: {exc}") from exc
        ref = runtime.info.ref
    return PredictResponse(variant=alias, version=ref.version, run_id=ref.run_id, predictions=predictions)


@router.post("/predict", response_model=PredictResponse, responses=ERRORS)
async def predict(
    body: PredictRequest,
    settings: SettingsDep,
    variants: VariantsDep,
    shadow_stats: ShadowDep,
    background: BackgroundTasks,
    response: Response,
    x_client_id: Annotated[str | None, Header(description="sticky routing key")] = None,
) -> PredictResponse:
    """Score rows on the alias the routing mode picks for this client."""
    try:
        chosen = route(settings, bucket(x_client_id), variants.loaded())
    except NoModelLoaded as exc:
        raise HTTPException(503, str(exc)) from exc
    answer = await _predict(variants, chosen.alias, body.data, settings.max_rows)
    if chosen.shadow is not None:
        background.add_task(_shadow_score, variants, chosen.shadow, shadow_stats, body.data, answer.predictions)
    return _label(response, answer)


def _shadow_score(variants: VariantsDep, alias: Alias, stats: ShadowDep, rows, answered) -> None:
    """After the response: the shadow alias scores a copy, under its own lease (in a worker thread)."""
    with variants.lease(alias) as runtime:
        if runtime is not None and runtime.n_features == len(rows[0]):
            stats.record(runtime, rows, answered)


@router.post("/variant/{alias}/predict", response_model=PredictResponse, responses=ERRORS)
async def predict_variant(
    alias: Alias, body: PredictRequest, settings: SettingsDep, variants: VariantsDep, response: Response
) -> PredictResponse:
    """Score rows on one alias explicitly (A = champion, B = challenger)."""
    answer = await _predict(variants, alias, body.data, settings.max_rows)
    return _label(response, answer)
