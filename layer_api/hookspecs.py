"""The hook specifications: the only contract between the core and the optional layers.

The core (Dagster code location and model server) calls these hooks through
`layer_api.manager`; a layer is an object built once per process with the caller's `Settings`
(its entry point is the factory: `Layer(settings)`), so no hook is handed the settings again and a
layer never decides the env itself. It implements the hooks it needs as methods marked
`@hookimpl` and may take any subset of a hook's arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pluggy

from layer_api.events import LifecycleEvent, ServingEvent
from mlops_base.always_valid import Arm

if TYPE_CHECKING:
    import pandas as pd
    from dagster import Definitions
    from fastapi import FastAPI

    from mlops_base.settings import Component
    from serving.api import Protocol as ProtocolDeclaration
    from serving.api import ServedView

PROJECT = "mlops"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class LayerInfo:
    name: str
    description: str
    gitops_app: str  # path of the layer's Argo CD app, relative to the repo root


@hookspec
def mlops_layer_info() -> LayerInfo:
    """Identify the layer: its name, a one-line description, and the GitOps app that deploys it."""


@hookspec
def mlops_metric_values() -> dict[str, float]:
    """Counters the layer keeps (name -> value, e.g. log records dropped), exported by the
    monitoring layer at scrape time when it is on."""


@hookspec
def mlops_gitops_files() -> dict[str, str]:
    """Files of the layer's GitOps app generated from the layer's own sources (its alert rules,
    its dashboards), by path relative to the repo root.

    `./mlops layers` writes them with the env's root-optional; a test checks the committed ones
    are current, so the cluster runs exactly what the layer's tests check.
    """


@hookspec
def mlops_dagster_definitions() -> Definitions | None:
    """Dagster definitions (assets, sensors, jobs, resources) the layer adds to the core code location.

    They are merged into the one `Definitions`; names must not clash with the core's.
    """


@hookspec
def mlops_serving_startup(
    app: FastAPI,
    served: ServedView,
    metric_values: Callable[[], dict[str, float]],
    metric_samples: Callable[[], list[tuple[str, str, dict[str, str], float]]],
) -> None:
    """Extend the model server while it is built: add middleware to `app` (routes: declare them
    with `mlops_serving_protocols`). `served` is the server's read-only view of what it serves
    (versions, loaded aliases, requests in flight); `metric_values` reads the counters every layer
    of this server keeps (`mlops_metric_values`), `metric_samples` their gauges (`mlops_metric_samples`).

    Called once from the app factory, before the app serves any request.
    """


@hookspec(firstresult=True)
def mlops_feature_source(dataset: pd.DataFrame) -> pd.DataFrame | None:
    """Take the env's dataset as loaded (before the core validates it) and provide the training
    frame (feature columns and the target column) instead, e.g. stored in and read back from a
    feature store. Raise ValueError to reject the dataset: the run fails with its message.

    The first layer that returns a frame wins; return None to leave the choice to others.
    """


@hookspec
def mlops_labelled_traffic(model_name: str, since: float, target: str) -> pd.DataFrame | None:
    """The model server's answered inputs since `since` (epoch seconds), each row joined with its
    fed-back outcome: the logged input columns, and the outcome as column `target`; None when the
    layer keeps none. Called by `features` in a run that asks for them (a drift retrain): the rows
    of every layer that returns some are added to the env's dataset."""


@hookspec
def mlops_replay_rows(model_name: str, since: float, limit: int, target: str) -> pd.DataFrame | None:
    """The last `limit` request rows `model_name` answered after `since` (epoch seconds) whose inputs
    the layer kept, newest first: the input columns, and the fed-back outcome as column `target`
    (missing where none came); None when the layer keeps none. What the release's replay pre-flight
    scores with the candidate and the champion, in the Dagster run, never on the live server."""


@hookspec
def mlops_release_check(model_name: str, version: str) -> str | None:
    """Veto moving an alias to `version`: return why (the alias stays where it is), or None.

    Called by `served_alias` before every move to a version (release, rollback, promote); the
    run fails with every layer's reason.
    """


CardFact = Literal["drift", "live_evaluation"]


@hookspec
def mlops_card_facts(model_name: str, version: str, aliases: dict[str, str]) -> dict[CardFact, str]:
    """What this layer knows now of `version` for its model card, one line per fact it keeps
    ("drift": its inputs' drift tests, "live_evaluation": its fed-back outcomes and the judgement
    against the champion); `aliases` is the registry's alias -> version. Called when a card is
    built (the `model_card` asset, `GET /models/{version}/card`, `./mlops card`): a few reads."""


RampGuardrail = Literal["errors", "latency", "outcome"]


class RampObservations(NamedTuple):
    """What a layer saw of each alias during a ramp's step, for one guardrail: `champion` and
    `challenger` are `mlops_base.always_valid.Arm`s (counts, means, variances); `bounded`: 0/1
    observations (an error, a request slower than A's p99, a wrong answer).

    `without_each_source`: for observations someone sends (outcomes, from feedback credentials),
    the (champion, challenger) arms with each source's observations left out; a verdict that does
    not hold without one of them is not acted on, so no single source moves the ramp."""

    guardrail: RampGuardrail
    champion: Arm
    challenger: Arm
    higher_is_worse: bool
    bounded: bool
    without_each_source: tuple[tuple[Arm, Arm], ...] = ()


@hookspec
def mlops_ramp_evidence(
    model_name: str, champion_version: str, challenger_version: str, since: float
) -> list[RampObservations]:
    """The guardrails this layer observes for a ramp (ALIAS_SELECTION_MODE=ramp): requests each alias
    answered since `since` (epoch seconds) with the champion and challenger at these versions, or
    [] when it has none. Called by the ramp sensor on every tick: keep it to a few queries."""


class AnsweredPrediction(NamedTuple):
    """One prediction the model server answered, as the data plane saw it: references to the
    scored input and the predictions (not copies), for a layer to serialize off the hot path.
    (A tuple: built per request, ~4 times cheaper than a frozen dataclass.)"""

    prediction_id: str  # issued by the server (the time, then 128 random bits), sent back as `x-prediction-id`
    request_id: str | None  # the caller's x-request-id (or the server's): a correlation field, never a key
    time: float  # seconds since the epoch, when answered
    alias: str
    model_name: str
    version: str
    bucket: int | None  # the client's sticky bucket (0..99) when the routing mode chose the alias; None
    # when the caller named the alias or version (such traffic is not a randomised comparison)
    rows: Any  # what the model scored: a float64 array or a frame of named columns
    columns: Sequence[str]  # the model's input columns (an array's, in order)
    predictions: Any
    # the rows' attributions when the caller asked for them (`mlops_base.explain.Explanation`), else None
    explanation: Any = None


@hookspec
def mlops_prediction_recorder() -> Callable[[AnsweredPrediction], None] | None:
    """A function the model server calls with every answered prediction of every route (e.g. to
    feed a prediction log), or None. Asked once, when the server starts serving (after
    `mlops_serving_startup`); the function then runs on the event loop per request, so it must only
    hand the record on (a bounded queue), never block or raise."""


class ScoredBatch(NamedTuple):
    """One call of a served model: every row it scored in it (a micro-batch of requests, or one
    large request) and its predictions. References, not copies: a layer keeps them and works off
    the hot path."""

    model_name: str
    version: str
    rows: Any  # a float64 array in `columns` order, or a frame of named columns
    columns: Sequence[str]
    predictions: Any


@hookspec
def mlops_batch_observer() -> Callable[[ScoredBatch], None] | None:
    """A function the model server calls once per call of a served model that answered (e.g. to
    follow the inputs' distribution per version), or None. Asked once, when the server starts
    serving. Per call, not per request: under load one call answers many requests, so a layer that
    needs no per-request fact costs the hot path almost nothing. It runs on the event loop: it
    must only hand the batch on, never block; what it raises is logged and dropped."""


@hookspec
def mlops_metric_samples() -> list[tuple[str, str, dict[str, str], float]]:
    """Gauges the layer computes (name, help, labels, value), exported by the monitoring layer at
    scrape time when it is on, e.g. an online evaluation's metric per variant."""


@hookspec
def mlops_serving_protocols() -> list[ProtocolDeclaration]:
    """The layer's routes on the model server, each protocol declared once (`serving.api.Protocol`:
    its router, its hot routes, its error shape, its OpenAPI patch). The server includes them; a
    route served but not declared fails the suite."""


class RowsRejected(ValueError):
    """Raised by `mlops_request_rows` with a message for the client: the request is answered 422."""


@hookspec(firstresult=True)
def mlops_request_rows(
    document: dict[str, Any], model_name: str, version: str, feature_names: list[str]
) -> list[list[float]] | None:
    """Rows for a prediction request whose body is not `{"data": ...}` (e.g. `{"entity_ids": [...]}`),
    for the model version that answers it, in `feature_names` order.

    Return None when the body is not of your form; raise RowsRejected for a 422. Any other error
    answers 503. Called in a worker thread of the model server, per request.
    """


@hookspec(firstresult=True)
def mlops_request_rows_in_memory(
    document: dict[str, Any], model_name: str, version: str, feature_names: list[str]
) -> list[list[float]] | None:
    """The rows `mlops_request_rows` would give, when you hold them all in memory; else None, and
    the server calls `mlops_request_rows` in a worker thread.

    Called on the model server's event loop, before `mlops_request_rows`, per request: never block
    (no I/O, no lock held by I/O). Raise RowsRejected for a 422, as `mlops_request_rows` would.
    """


@hookspec
def mlops_lifecycle_event(event: LifecycleEvent, payload: dict[str, Any]) -> None:
    """React to a release event: gate_failed, version_registered, served, deploy_failed,
    deploy_refused, rolled_back, readiness_failed, drift_detected. Called in the Dagster run or
    sensor that caused it.

    Each subscribing layer is called in a hook call of its own (wrappers wrap each one), so a
    subscriber that raises is logged and neither fails the pipeline nor stops the others.
    """


@hookspec
def mlops_serving_event(event: ServingEvent, payload: dict[str, Any]) -> None:
    """React to a model-server event: reloaded, reload_failed, shadow_compared.

    Called in the model server's process, isolated per subscriber like lifecycle events;
    must be fast.
    """


@hookspec
def mlops_logging_handlers(component: Component) -> list[logging.Handler]:
    """Logging handlers for the platform's loggers in a `component` process ("serving": the model
    server; "dagster": the code location, its sensors and runs, where they also get the runs' own
    log). Return the same handler objects when called again in a process: they are attached once.
    """
