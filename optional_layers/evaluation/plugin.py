"""Evaluation layer hooks: the prediction log and feedback on the model server, the judgement as
a Dagster asset, and (AUTO_PROMOTE) promotion or rollback on its evidence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from mlops_base.settings import Settings
from optional_layers.hookspecs import AnsweredPrediction, LayerInfo, hookimpl

# the layer's state per model server in this process (its counters are the process's)
_SERVERS: dict[int, Any] = {}  # by id(app)


@hookimpl
def mlops_layer_info() -> LayerInfo:
    return LayerInfo(
        "evaluation",
        "Online evaluation: prediction log, POST /feedback, champion vs challenger judged, auto-promote",
        "gitops/optional/evaluation",
    )


@hookimpl
def mlops_serving_startup(app: FastAPI, settings: Settings) -> None:
    from optional_layers.evaluation.serving import attach  # the model server only

    _SERVERS[id(app)] = attach(app, settings)


@hookimpl
def mlops_prediction_recorder(app: FastAPI) -> Callable[[AnsweredPrediction], None] | None:
    state = getattr(app.state, "evaluation", None)
    return None if state is None else state.log.put


@hookimpl
def mlops_metric_values() -> dict[str, float]:
    servers = list(_SERVERS.values())
    return {
        "mlops_prediction_log_dropped_total": float(sum(s.log.dropped for s in servers)),
        "mlops_prediction_log_written_total": float(sum(s.log.written for s in servers)),
    }


@hookimpl
def mlops_metric_samples() -> list[tuple[str, str, dict[str, str], float]]:
    return [sample for server in _SERVERS.values() for sample in server.gauges()]


@hookimpl
def mlops_dagster_definitions(settings: Settings):
    from optional_layers.evaluation.definitions import evaluation_definitions  # Dagster only where it runs

    return evaluation_definitions(settings)
