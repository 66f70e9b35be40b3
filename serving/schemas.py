"""Request and response models of the serving contract (shown with examples at /docs)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict

from mlops_base.aliases import Alias
from mlops_base.settings import Backend

FiniteNumber = Annotated[float, Strict(), AllowInfNan(False)]

EXAMPLE_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


class PredictRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"data": EXAMPLE_ROWS}]})

    data: list[list[FiniteNumber]] = Field(description="rows of feature values, in signature order")


class PredictResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"variant": "A", "version": "3", "run_id": "4e3c2b9c42344ee1", "predictions": [0, 2]}]
        }
    )

    variant: Alias
    version: str
    run_id: str
    predictions: list[Any]


class ReloadRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"version": "3"}, {}]})

    version: Annotated[str, Field(pattern=r"^[0-9]+$")] | None = Field(
        None, description="expected version: 409 if the registry's alias points elsewhere"
    )


class ReloadResponse(BaseModel):
    alias: Alias
    version: str
    previous_version: str | None
    duration_ms: float


class ModelStatus(BaseModel):
    alias: Alias
    status: str = Field(description="loaded | not_loaded | load_failed")
    version: str | None = None
    run_id: str | None = None
    loaded_at: str | None = None
    backend: Backend
    n_features: int | None = None
    last_error: str | None = Field(None, description="why the last load failed (the old model keeps serving)")


class ModelsResponse(BaseModel):
    models: dict[str, ModelStatus]


class RoutingInfo(BaseModel):
    mode: str
    default_alias: Alias
    configured_split: dict[str, int]
    effective_split: dict[str, int]


class BatchingInfo(BaseModel):
    max_rows: int = Field(description="rows per shared predict call (0: batching off)")
    max_wait_us: int
    requests: int = Field(description="requests scored since start")
    predict_calls: int = Field(description="predict calls they took: fewer than requests when batching pays")


class HealthResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "loaded_variants": ["B"],
                    "note": "only B is loaded: it answers all traffic",
                    "routing": {
                        "mode": "ab_test",
                        "default_alias": "A",
                        "configured_split": {"A": 90, "B": 10},
                        "effective_split": {"A": 0, "B": 100},
                    },
                }
            ]
        }
    )

    status: str
    loading: bool = Field(False, description="the start-up load from the registry is still running")
    loaded_variants: list[Alias]
    note: str | None = None
    problems: dict[str, str] = Field(
        default_factory=dict, description="per alias, why its last load failed (what it serves is unchanged)"
    )
    in_flight: int = Field(0, description="requests and shadow scorings using a model right now")
    retired_models: int = Field(0, description="swapped-out models released when their last request ends")
    routing: RoutingInfo
    shadow: dict[str, Any] | None = None
    batching: BatchingInfo | None = None


class ErrorResponse(BaseModel):
    detail: str
