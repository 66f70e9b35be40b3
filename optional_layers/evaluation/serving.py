"""What the evaluation layer adds to the model server: the prediction log, `POST /feedback` and
`GET /evaluation`, and the judgement as gauges."""

from __future__ import annotations

import atexit
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from sqlalchemy.exc import SQLAlchemyError

from mlops_base.model_card import importance_of, shifted_columns
from mlops_base.registry_rest import RegistryClient, RegistryError, RegistryUnreachable
from mlops_base.settings import Settings
from optional_layers.evaluation.archive import archiver
from optional_layers.evaluation.labels import FeedbackError
from optional_layers.evaluation.metrics import gauges
from optional_layers.evaluation.prediction_log import FLUSH_SECONDS, Inputs, PredictionLog, RotatingFile
from optional_layers.evaluation.report import judged
from optional_layers.evaluation.settings import EvaluationSettings
from optional_layers.evaluation.store import OutcomeStore, engine_for
from serving.api import Protocol, ServedView, credential, credential_responses

Label = StrictInt | StrictFloat | StrictStr | StrictBool
GAUGE_CACHE_SECONDS = 10.0


class Feedback(BaseModel):
    """The true outcome of one answered prediction: its class, or its value for regression (a list,
    one per row, when the request had several rows)."""

    model_config = ConfigDict(extra="forbid")
    prediction_id: str = Field(
        min_length=1, max_length=64, description="the x-prediction-id header the prediction was answered with"
    )
    label: Label | list[Label]


class FeedbackAccepted(BaseModel):
    accepted: int = Field(description="outcomes stored (request ids)")
    rows: int = Field(description="scored rows they add")


class Evaluation:
    """The layer's state in one model server: the store, the log, and the server's view of what it serves."""

    def __init__(self, settings: Settings, served: ServedView):
        layer = EvaluationSettings.of(settings)
        self.served_view, self.settings, self.layer = served, settings, layer
        retention_s = layer.prediction_log_retention_days * 86400
        self.store = OutcomeStore(
            engine_for(layer.evaluation_db_url, settings.state_dir),
            settings.task,
            layer.feedback_ttl_hours * 3600,
            retention_s,
        )
        files = RotatingFile(
            settings.state_dir / "evaluation" / "prediction-log",
            int(layer.prediction_log_rotate_mb * 1024 * 1024),
            archiver(settings),
        )
        inputs = Inputs(layer.prediction_log_inputs, layer.prediction_log_sample, layer.prediction_log_columns)
        self.log = PredictionLog(self.store, files, layer.prediction_log_queue, inputs, retention_s)
        self._gauges: tuple[float, list] = (0.0, [])
        self._importance: tuple[tuple[str, str] | None, dict[str, Any] | None] = (None, None)

    def start(self) -> None:
        self.log.start()
        atexit.register(self.log.close)  # the last batch is written when the server stops

    def served(self) -> dict[str, str | None]:
        return dict(self.served_view.versions())

    def importance(self) -> dict[str, Any] | None:
        """The served champion's and challenger's global importance (their training runs'), and the
        columns whose share moved by more than half; read from the registry once per pair served."""
        served = self.served()
        champion, challenger = served.get("A"), served.get("B")
        if not champion or not challenger or champion == challenger:
            return None
        if self._importance[0] != (champion, challenger):
            name = self.settings.model_name
            try:
                with RegistryClient(self.settings.mlflow_tracking_uri) as client:
                    theirs, mine = importance_of(client, name, champion), importance_of(client, name, challenger)
            except (RegistryError, RegistryUnreachable):
                return None  # asked again next time
            found = None
            if theirs and mine:
                found = {
                    "champion": {"version": champion, "share": theirs["share"]},
                    "challenger": {"version": challenger, "share": mine["share"]},
                    "shifted": shifted_columns(mine["share"], theirs["share"]),
                }
            self._importance = ((champion, challenger), found)
        return self._importance[1]

    def judge(self, history: bool = False) -> dict[str, Any]:
        return judged(self.settings, self.store.outcomes(self.settings.model_name), self.served(), history)

    def feedback(self, items: list[tuple[str, Any]], source: str) -> int:
        """Stored all or none; an id not found yet may sit in a replica's queue: written within
        FLUSH_SECONDS, so this replica's is flushed and the lookup tried once more."""
        try:
            return self.store.add_feedback(items, source)
        except FeedbackError as exc:
            if exc.status != 404:
                raise
        self.log.flush()
        time.sleep(FLUSH_SECONDS)
        return self.store.add_feedback(items, source)

    def gauges(self) -> list[tuple[str, str, dict[str, str], float]]:
        """The judgement as gauges, computed at most every GAUGE_CACHE_SECONDS (scrapes stay cheap)."""
        at, samples = self._gauges
        if time.monotonic() - at < GAUGE_CACHE_SECONDS:
            return samples
        try:
            samples = gauges(self.judge())
        except SQLAlchemyError:
            return samples
        self._gauges = (time.monotonic(), samples)
        return samples


ERRORS = {
    **credential_responses("feedback"),
    404: {"description": "unknown prediction id: this server issued no such x-prediction-id"},
    409: {"description": "the request id already has an outcome, or is given twice"},
    410: {"description": "the prediction is older than FEEDBACK_TTL_HOURS"},
    422: {"description": "a label of the wrong type or count, or a malformed body"},
    503: {"description": "the outcome store cannot be reached; nothing was stored"},
}
FeedbackSource = Annotated[str, credential("feedback")]


def protocol(current: Callable[[], Evaluation | None]) -> Protocol:
    """The layer's routes: `current()` is the server's Evaluation, built when the server starts."""
    router = APIRouter(tags=["evaluation"])

    def of() -> Evaluation:
        evaluation = current()
        if evaluation is None:
            raise HTTPException(503, "the evaluation layer has not started")
        return evaluation

    @router.post("/feedback", response_model=FeedbackAccepted, responses=ERRORS)
    def feedback(
        source: FeedbackSource,
        body: Annotated[Feedback | list[Feedback], Body(description="one outcome or a list of at most 10,000")],
    ) -> FeedbackAccepted:
        """The true outcomes of answered predictions, by the `x-prediction-id` each was answered with
        (needs the feedback credential; its name is recorded as the outcomes' source). All or none are
        stored; each refusal names the item."""
        items = body if isinstance(body, list) else [body]
        if not 1 <= len(items) <= 10_000:
            raise HTTPException(422, f"give 1 to 10,000 outcomes, not {len(items)}")
        try:
            rows = of().feedback([(item.prediction_id, item.label) for item in items], source)
        except FeedbackError as exc:
            raise HTTPException(exc.status, str(exc)) from exc
        except SQLAlchemyError as exc:
            raise HTTPException(503, f"the outcome store cannot be reached: {type(exc).__name__}") from exc
        return FeedbackAccepted(accepted=len(items), rows=rows)

    @router.get("/evaluation", responses={status: ERRORS[status] for status in (401, 403, 429, 503)})
    def online_evaluation(_: FeedbackSource, history: bool = False) -> dict[str, Any]:
        """Per variant and version: outcomes and the metric; the served challenger (B) against the served
        champion (A) on routed traffic: the difference with its always-valid interval and the decision;
        their global importance side by side (needs the feedback credential)."""
        try:
            evaluation = of()
            return {**evaluation.judge(history), "importance": evaluation.importance()}
        except SQLAlchemyError as exc:
            raise HTTPException(503, f"the outcome store cannot be reached: {type(exc).__name__}") from exc

    return Protocol("evaluation", router)
