"""Request and response models of the serving contract (shown with examples at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict

from mlops_base.aliases import Alias
from mlops_base.explain.kinds import Method, OutputKind
from mlops_base.settings import Backend

FiniteNumber = Annotated[float, Strict(), AllowInfNan(False)]

EXAMPLE_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


ReturnProba = Field(False, description="also answer `classes` and `probabilities` (classifiers that have them)")
Explain = Field(False, description="also answer each row's explanation, as POST /explain does (EXPLAIN_MAX_ROWS)")
Value = float | str | bool | None


class PredictRequest(BaseModel):
    """Positional rows, for all-numeric models: the fast path."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"data": EXAMPLE_ROWS}]})

    data: list[list[FiniteNumber]] = Field(description="rows of feature values, in signature order")
    return_proba: bool = ReturnProba
    explain: bool = Explain


class DataframeSplit(BaseModel):
    columns: list[str] = Field(description="column names (see /models): any order; nullable ones may be left out")
    data: list[list[Value]] = Field(description="rows, one value per named column")


class DataframeSplitRequest(BaseModel):
    """Named, typed columns in MLflow's `dataframe_split` form (pandas' orient="split")."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dataframe_split": {"columns": ["plan", "tenure_months"], "data": [["basic", 12.0], [None, 40.0]]}}
            ]
        }
    )

    dataframe_split: DataframeSplit
    return_proba: bool = ReturnProba
    explain: bool = Explain


class DataframeRecordsRequest(BaseModel):
    """Named, typed columns in MLflow's `dataframe_records` form (pandas' orient="records")."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"dataframe_records": [{"plan": "basic", "tenure_months": 12.0}]}]}
    )

    dataframe_records: list[dict[str, Value]] = Field(description="one object per row: column -> value")
    return_proba: bool = ReturnProba
    explain: bool = Explain


class InvocationsResponse(BaseModel):
    """What `mlflow models serve` answers."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"predictions": [0, 2]}]})

    predictions: list[Any] = Field(description="labels (classification) or numbers (regression), one per row")


class RowExplanation(BaseModel):
    attributions: dict[str, list[float | None]] = Field(
        description="per input column, how much it moved each output away from the base value "
        "(null: not finite, for an input out of range)"
    )
    output_value: list[float | None] = Field(
        description="base_value plus the attributions: the model's output, per output (null: not finite)"
    )


class PredictResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"variant": "A", "version": "3", "run_id": "4e3c2b9c42344ee1", "predictions": [0, 2]}]
        }
    )

    variant: Alias
    version: str
    run_id: str
    predictions: list[Any] = Field(description="labels (classification) or numbers (regression), one per row")
    classes: list[Any] | None = Field(None, description="with return_proba: the labels, in probability order")
    probabilities: list[list[float | None]] | None = Field(
        None, description="with return_proba: one row per input row (null: not finite, for an input out of range)"
    )
    output: str | None = Field(None, description="with explain: what the attributions add up to (see /explain)")
    method: str | None = Field(None, description="with explain: how the rows were explained")
    outputs: list[str] | None = Field(None, description="with explain: what each output is")
    base_value: list[float] | None = Field(None, description="with explain: per output, the base value")
    explanations: list[RowExplanation] | None = Field(None, description="with explain: one per row")


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


class ColumnInfo(BaseModel):
    name: str
    type: Literal["number", "string", "boolean"]
    nullable: bool


class ModelStatus(BaseModel):
    alias: Alias
    status: str = Field(description="loaded | not_loaded | load_failed")
    version: str | None = None
    run_id: str | None = None
    loaded_at: str | None = None
    backend: Backend
    n_features: int | None = None
    flavour: str | None = Field(None, description="the MLflow flavour it was logged with (sklearn, lightgbm, ...)")
    columns: list[ColumnInfo] | None = Field(None, description="the inputs its signature takes")
    positional: bool | None = Field(None, description="takes `data` rows in column order (all-numeric)")
    classes: list[Any] | None = None
    last_error: str | None = Field(None, description="why the last load failed (the old model keeps serving)")


class RampInfo(BaseModel):
    steps: list[int] = Field(description="B's shares in percent, in order (RAMP_STEPS)")
    step: int = Field(description="the index of the step B's version is on (0: the first)")
    challenger_version: str | None = None
    champion_version: str | None = Field(None, description="the version the ramp compares B with")
    step_since: datetime | None = Field(None, description="when the current step began (none: not started)")


class ArmInfo(BaseModel):
    n: int = Field(description="observations of the alias since the step began")
    mean: float | None = Field(None, description="their mean: a share of errors or slow requests, or the metric")


class GuardrailReading(BaseModel):
    guardrail: Literal["errors", "latency", "outcome"]
    verdict: Literal["worse", "not worse", "not yet known", "no data"]
    worse_by: list[float] | None = Field(
        None, description="the always-valid interval of how much worse B is than A (none: no data)"
    )
    margin: float = Field(description="how much worse B may be (RAMP_MARGIN, in the guardrail's units)")
    champion: ArmInfo
    challenger: ArmInfo


class RampDecisionInfo(BaseModel):
    action: Literal["advance", "promote", "abort", "hold"]
    step: int = Field(description="the step B is on after the decision")
    at: float = Field(description="when it was decided (epoch seconds)")
    reason: str
    readings: list[GuardrailReading]


class RampResponse(BaseModel):
    mode: str = Field(description="ALIAS_SELECTION_MODE; the rest is empty unless it is ramp")
    steps: list[int] = Field(default_factory=list, description="B's shares in percent (RAMP_STEPS)")
    step: int | None = Field(None, description="the index of the step B's version is on")
    share_percent: int | None = Field(None, description="the share B answers now")
    challenger_version: str | None = None
    champion_version: str | None = None
    step_since: float | None = Field(None, description="when the step began (epoch seconds; none: not begun)")
    started: float | None = Field(None, description="when the ramp of this challenger began")
    decision: RampDecisionInfo | None = Field(None, description="the ramp sensor's last decision on this ramp")


class RoutingInfo(BaseModel):
    mode: str
    default_alias: Alias
    configured_split: dict[str, int]
    effective_split: dict[str, int]
    ramp: RampInfo | None = Field(None, description="ALIAS_SELECTION_MODE=ramp: where the ramp stands")


class BatchingInfo(BaseModel):
    max_rows: int = Field(description="rows per shared predict call (0: batching off)")
    max_wait_us: int
    requests: int = Field(description="requests scored since start")
    predict_calls: int = Field(description="predict calls they took: fewer than requests when batching pays")


class AliasCheckInfo(BaseModel):
    registry_version: str | None = Field(None, description="the version the registry named at the last check")
    served_version: str | None = Field(None, description="the version this replica serves")
    checked_at: datetime | None = Field(None, description="when the registry last answered for this alias")
    error: str | None = Field(None, description="why the last check or the reload it asked for failed")


class AliasWatchInfo(BaseModel):
    interval_s: float = Field(description="ALIAS_POLL_SECONDS (0: the watch is off, only pushes reload)")
    failed_calls: int = Field(0, description="registry calls failed in a row (the interval backs off meanwhile)")
    aliases: dict[Alias, AliasCheckInfo]


class ModelsResponse(BaseModel):
    models: dict[str, ModelStatus]
    alias_watch: AliasWatchInfo | None = None


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
    problems: list[Alias] = Field(
        default_factory=list,
        description="aliases whose last load failed (what they serve is unchanged); why: GET /models, which "
        "the cluster keeps internal",
    )
    in_flight: int = Field(0, description="requests and shadow scorings using a model right now")
    retired_models: int = Field(0, description="swapped-out models released when their last request ends")
    routing: RoutingInfo
    shadow: dict[str, Any] | None = None
    batching: BatchingInfo | None = None


class ErrorResponse(BaseModel):
    detail: str


class ExplainResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {  # the guide's, from a real run (docs/guides/explanations.md)
                    "variant": "A",
                    "version": "1",
                    "run_id": "0bfe3be12e404265a6605e2d292c324b",
                    "output": "log_odds",
                    "method": "linear",
                    "outputs": ["0", "1", "2"],
                    "base_value": [-0.4284558273711436, 2.225662469328392, -1.7972066419567838],
                    "explanations": [
                        {
                            "attributions": {
                                "sepal length (cm)": [0.7958300344456979, -0.6735816039708812, -0.12224843047480086],
                                "sepal width (cm)": [0.11100551970840052, -0.05871263185552633, -0.052292887852874906],
                                "petal length (cm)": [5.5868441345044655, 0.41648649307439406, -6.003330627578853],
                                "petal width (cm)": [0.9665893237751886, 0.8184687414363457, -1.7850580652115258],
                            },
                            "output_value": [7.031813185062609, 2.728323468012724, -9.760136653074838],
                        }
                    ],
                }
            ]
        }
    )

    variant: Alias
    version: str
    run_id: str
    output: OutputKind = Field(
        description="what the attributions add up to: class probabilities, log-odds (margins) or the predicted value"
    )
    method: Method = Field(
        description="exact for tree ensembles (TreeSHAP) and linear models; Shapley values over the version's "
        "background sample for other models"
    )
    outputs: list[str] = Field(description="what each output is: a class label, or `value`")
    base_value: list[float] = Field(description="per output: the model's mean output over the background")
    explanations: list[RowExplanation] = Field(description="one per row, in order")
