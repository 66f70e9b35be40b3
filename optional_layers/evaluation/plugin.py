"""Evaluation layer hooks: the prediction log and feedback on the model server, the judgement as
a Dagster asset, and (AUTO_PROMOTE) promotion or rollback on its evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from fastapi import FastAPI

from layer_api import AnsweredPrediction, LayerInfo, RampObservations, hookimpl
from mlops_base.settings import Settings
from optional_layers.evaluation.settings import EvaluationSettings

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from optional_layers.evaluation.serving import Evaluation
    from serving.api import Protocol, ServedView


class EvaluationLayer:
    """Its state in a model server (the outcome store, the prediction log) lives on `evaluation`,
    built when the server starts; a Dagster process never builds it."""

    SETTINGS = EvaluationSettings  # its settings class (the settings reference lists it)

    def __init__(self, settings: Settings):
        self.settings = settings
        self.evaluation: Evaluation | None = None

    @hookimpl
    def mlops_layer_info(self) -> LayerInfo:
        return LayerInfo(
            "evaluation",
            "Online evaluation: prediction log, POST /feedback, champion vs challenger judged, auto-promote",
            "gitops/optional/evaluation",
        )

    @hookimpl
    def mlops_serving_startup(self, app: FastAPI, served: ServedView) -> None:
        from optional_layers.evaluation.serving import Evaluation  # the model server only

        self.evaluation = Evaluation(self.settings, served)
        self.evaluation.start()

    @hookimpl
    def mlops_serving_protocols(self) -> list[Protocol]:
        return [self.protocol]

    @cached_property
    def protocol(self) -> Protocol:
        from optional_layers.evaluation.serving import protocol  # the model server only

        return protocol(lambda: self.evaluation)

    @hookimpl
    def mlops_prediction_recorder(self) -> Callable[[AnsweredPrediction], None] | None:
        return None if self.evaluation is None else self.evaluation.log.recorder()

    @hookimpl
    def mlops_metric_values(self) -> dict[str, float]:
        log = self.evaluation.log if self.evaluation is not None else None
        return {
            "mlops_prediction_log_dropped_total": float(log.dropped if log else 0),
            "mlops_prediction_log_written_total": float(log.written if log else 0),
        }

    @hookimpl
    def mlops_metric_samples(self) -> list[tuple[str, str, dict[str, str], float]]:
        return self.evaluation.gauges() if self.evaluation is not None else []

    @contextmanager
    def _store(self) -> Iterator[Engine]:
        """The outcome store this env's servers write, as a Dagster run reads it."""
        from optional_layers.evaluation.store import engine_for

        engine = engine_for(EvaluationSettings.of(self.settings).evaluation_db_url, self.settings.state_dir)
        try:
            yield engine
        finally:
            engine.dispose()

    @hookimpl
    def mlops_labelled_traffic(self, model_name: str, since: float, target: str) -> pd.DataFrame | None:
        """Outcomes whose predictions' inputs the log kept (PREDICTION_LOG_INPUTS), read from the
        outcome store this env's servers write."""
        import pandas as pd

        from optional_layers.evaluation.logged_traffic import labelled_inputs

        with self._store() as engine:
            labelled = labelled_inputs(engine, model_name, since)
        if not labelled:
            return None
        return pd.DataFrame([{**record, target: label} for record, label in labelled])

    @hookimpl
    def mlops_replay_rows(self, model_name: str, since: float, limit: int, target: str) -> pd.DataFrame | None:
        """Logged request rows whose inputs the log kept (PREDICTION_LOG_INPUTS), with their outcomes."""
        import pandas as pd

        from optional_layers.evaluation.logged_traffic import logged_rows

        with self._store() as engine:
            rows = logged_rows(engine, model_name, since, limit)
        if not rows:
            return None
        return pd.DataFrame([{**record, target: label} for record, label in rows])

    @hookimpl
    def mlops_ramp_evidence(
        self, model_name: str, champion_version: str, challenger_version: str, since: float
    ) -> list[RampObservations]:
        """The outcome guardrail: outcomes of the predictions each alias answered since `since`
        (the step began), read from the outcome store this env's servers write."""
        from optional_layers.evaluation.evidence import Evidence
        from optional_layers.evaluation.ramp_evidence import outcome_evidence
        from optional_layers.evaluation.store import read_outcomes

        with self._store() as engine:
            outcomes = read_outcomes(engine, model_name, since, "answered_at")
        layer = EvaluationSettings.of(self.settings)
        evidence = Evidence(layer.evaluation_min_sources, layer.evaluation_max_source_share)
        return outcome_evidence(outcomes, self.settings.task, champion_version, challenger_version, evidence)

    @hookimpl
    def mlops_card_facts(self, model_name: str, version: str, aliases: dict[str, str]) -> dict[str, str]:
        """The outcomes fed back for `version` and, served as champion or challenger, the judgement."""
        from optional_layers.evaluation.report import card_line, judged
        from optional_layers.evaluation.store import read_outcomes

        with self._store() as engine:
            outcomes = read_outcomes(engine, model_name, 0.0, "received_at")
        report = judged(self.settings, outcomes, {"A": aliases.get("A"), "B": aliases.get("B")})
        return {"live_evaluation": card_line(report, version)}

    @hookimpl
    def mlops_dagster_definitions(self):
        from optional_layers.evaluation.definitions import evaluation_definitions  # Dagster only where it runs

        return evaluation_definitions(self.settings)
