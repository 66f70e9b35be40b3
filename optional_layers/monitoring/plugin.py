"""Monitoring layer hooks: /metrics on the model server, serving metrics, release metrics pushed
to the Pushgateway from the runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlops_base.settings import Settings
from optional_layers.hookspecs import LayerInfo, hookimpl
from optional_layers.monitoring import gitops, pipeline_metrics
from optional_layers.monitoring.predict_stats import PredictStats
from optional_layers.monitoring.settings import MonitoringSettings
from serving.data_plane import PREDICTION_PATHS_END
from serving.scope_keys import ANSWERED, HOT

REGISTRY = CollectorRegistry()
PREDICTS = PredictStats()
REGISTRY.register(PREDICTS)
IN_FLIGHT = Gauge("mlops_predict_in_flight", "Prediction requests and shadow scorings using a model", registry=REGISTRY)
RELOADS = Counter("mlops_reloads", "Hot-swap reloads", ["alias", "outcome"], registry=REGISTRY)
RELOAD_SECONDS = Histogram("mlops_reload_duration_seconds", "Successful reload duration", ["alias"], registry=REGISTRY)
LOAD_FAILURES = Counter("mlops_model_load_failures", "Models that failed to load", ["alias"], registry=REGISTRY)
SHADOW_ROWS = Counter("mlops_shadow_rows", "Rows scored by the shadow alias", registry=REGISTRY)
SHADOW_DISAGREEMENTS = Counter("mlops_shadow_disagreements", "Shadow predictions that differ", registry=REGISTRY)
_log = logging.getLogger("mlops.monitoring")

UNANSWERED = ("500", "none", "none")
MODEL_LOADED = Gauge("mlops_model_loaded", "1 if the alias has a model loaded", ["alias"], registry=REGISTRY)


class LayerCounters:
    """Counters (`mlops_metric_values`, e.g. log records dropped) and gauges (`mlops_metric_samples`,
    e.g. an online evaluation) other layers keep, read at scrape time."""

    def __init__(self) -> None:
        self.source: Callable[[], dict[str, float]] = dict
        self.samples: Callable[[], list[tuple[str, str, dict[str, str], float]]] = list

    def collect(self):
        for name, value in sorted(self.source().items()):
            yield CounterMetricFamily(name.removesuffix("_total"), f"{name}, kept by an optional layer", value=value)
        families: dict[str, GaugeMetricFamily] = {}
        for name, help_text, labels, value in self.samples():
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(name, help_text, labels=sorted(labels))
            family.add_metric([labels[key] for key in sorted(labels)], value)
        yield from families.values()


LAYER_COUNTERS = LayerCounters()
REGISTRY.register(LAYER_COUNTERS)


class PredictMetrics:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware) timing prediction requests.

    Requests in flight are not counted here: /metrics reads them from the server's own leases.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(PREDICTION_PATHS_END):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if HOT in scope:  # the hot path says who answered in the scope: no wrapper around each message
            try:
                await self.app(scope, receive, send)
            finally:
                PREDICTS.record(*scope.get(ANSWERED, UNANSWERED), time.perf_counter() - started)
            return
        seen = list(UNANSWERED)  # status, variant, version

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen[0] = str(message["status"])
                for name, value in message.get("headers", ()):
                    if name == b"x-model-variant":
                        seen[1] = value.decode()
                    elif name == b"x-model-version":
                        seen[2] = value.decode()
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            PREDICTS.record(*seen, time.perf_counter() - started)


@hookimpl
def mlops_layer_info() -> LayerInfo:
    return LayerInfo(
        "monitoring", "Prometheus metrics, Grafana dashboards and alert rules", "gitops/optional/monitoring"
    )


@hookimpl
def mlops_gitops_files() -> dict[str, str]:
    return gitops.files()


@hookimpl
def mlops_serving_startup(
    app: FastAPI,
    metric_values: Callable[[], dict[str, float]],
    metric_samples: Callable[[], list[tuple[str, str, dict[str, str], float]]],
) -> None:
    app.add_middleware(PredictMetrics)
    LAYER_COUNTERS.source, LAYER_COUNTERS.samples = metric_values, metric_samples

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        variants = request.app.state.variants
        for variant in variants.variants():
            MODEL_LOADED.labels(variant.alias).set(1 if variant.runtime is not None else 0)
        IN_FLIGHT.set(variants.in_flight())
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@hookimpl
def mlops_serving_event(event: str, payload: dict[str, Any]) -> None:
    if event == "reloaded":
        RELOADS.labels(payload["alias"], "ok").inc()
        RELOAD_SECONDS.labels(payload["alias"]).observe(payload["duration_ms"] / 1000)
    elif event == "reload_failed":
        RELOADS.labels(payload["alias"], "failed").inc()
        if payload.get("status") in (422, 403):  # the model itself did not load
            LOAD_FAILURES.labels(payload["alias"]).inc()
    elif event == "shadow_compared":
        SHADOW_ROWS.inc(payload["rows"])
        SHADOW_DISAGREEMENTS.inc(payload["disagreements"])


@hookimpl
def mlops_lifecycle_event(event: str, payload: dict[str, Any], settings: Settings) -> None:
    gateway = MonitoringSettings.of(settings).pushgateway_url
    if not gateway:
        _log.debug("PUSHGATEWAY_URL is not set: release event %s not pushed", event)
        return
    try:
        pipeline_metrics.push_event(gateway, settings.mlops_env, event, payload)
    except (OSError, httpx.HTTPError) as exc:  # the gateway is down or refuses: logged, never raised
        _log.warning("release event %s not pushed to %s: %s", event, gateway, exc)


@hookimpl
def mlops_dagster_definitions(settings: Settings):
    from optional_layers.monitoring.definitions import (
        monitoring_definitions,  # Dagster only where it runs
    )

    return monitoring_definitions(settings)
