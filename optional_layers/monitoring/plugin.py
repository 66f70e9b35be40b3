"""Monitoring layer hooks: /metrics on the model server, serving metrics, release metrics pushed
to the Pushgateway from the runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Response
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

from layer_api import LayerInfo, hookimpl
from layer_api.events import LifecycleEvent, ServingEvent
from mlops_base.settings import Settings
from optional_layers.monitoring import gitops, pipeline_metrics
from optional_layers.monitoring.predict_stats import PredictStats
from optional_layers.monitoring.settings import MonitoringSettings
from serving.api import ANSWERED, HOT, NOT_PREDICTION, DirectHook, Protocol, ServedView

_log = logging.getLogger("mlops.monitoring")
UNANSWERED = ("500", "none", "none")


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


class RampGauges:
    """ALIAS_SELECTION_MODE=ramp: B's share and step, and each guardrail's interval of how much worse
    B is, from the ramp sensor's last decision (read at scrape time; nothing in other modes)."""

    def __init__(self) -> None:
        self.served: ServedView | None = None

    def collect(self):
        ramp = self.served.ramp() if self.served is not None else None
        if not ramp:
            return
        labels = {"challenger_version": str(ramp["challenger_version"])}
        yield GaugeMetricFamily(
            "mlops_ramp_share_percent", "Percent of requests B answers", value=ramp["share_percent"]
        )
        yield GaugeMetricFamily("mlops_ramp_step", "Index of B's ramp step (0: the first)", value=ramp["step"])
        decision = ramp.get("decision") or {}
        bounds = [
            GaugeMetricFamily(
                f"mlops_ramp_worse_by_{end}",
                f"{end} of the interval of how much worse B is",
                labels=[*labels, "guardrail"],
            )
            for end in ("low", "high")
        ]
        for reading in decision.get("readings", []):
            if reading.get("worse_by"):
                for family, value in zip(bounds, reading["worse_by"], strict=True):
                    family.add_metric([*labels.values(), reading["guardrail"]], value)
        yield from bounds


class ServingMetrics:
    """The model server's metrics: one registry per server, exposed at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.predicts = PredictStats()
        self.layer_counters = LayerCounters()
        self.ramp = RampGauges()
        self.registry.register(self.predicts)
        self.registry.register(self.layer_counters)
        self.registry.register(self.ramp)
        registry = self.registry
        self.in_flight = Gauge(
            "mlops_predict_in_flight", "Prediction requests and shadow scorings using a model", registry=registry
        )
        self.reloads = Counter("mlops_reloads", "Hot-swap reloads", ["alias", "outcome"], registry=registry)
        self.reload_seconds = Histogram(
            "mlops_reload_duration_seconds", "Successful reload duration", ["alias"], registry=registry
        )
        self.load_failures = Counter(
            "mlops_model_load_failures", "Models that failed to load", ["alias"], registry=registry
        )
        self.shadow_rows = Counter("mlops_shadow_rows", "Rows scored by the shadow alias", registry=registry)
        self.shadow_disagreements = Counter(
            "mlops_shadow_disagreements", "Shadow predictions that differ", registry=registry
        )
        self.model_loaded = Gauge(
            "mlops_model_loaded", "1 if the alias has a model loaded", ["alias"], registry=registry
        )
        self.registry_failures = Gauge(
            "mlops_registry_failed_calls", "The alias watch's registry calls failed in a row", registry=registry
        )

    def exposition(self, served: ServedView) -> bytes:
        for alias, loaded in served.loaded().items():
            self.model_loaded.labels(alias).set(1 if loaded else 0)
        self.in_flight.set(served.in_flight())
        self.registry_failures.set(served.registry_failures())
        return generate_latest(self.registry)

    def serving_event(self, event: ServingEvent, payload: dict[str, Any]) -> None:
        if event == "reloaded":
            self.reloads.labels(payload["alias"], "ok").inc()
            self.reload_seconds.labels(payload["alias"]).observe(payload["duration_ms"] / 1000)
        elif event == "reload_failed":
            self.reloads.labels(payload["alias"], "failed").inc()
            if payload.get("status") in (422, 403):  # the model itself did not load
                self.load_failures.labels(payload["alias"]).inc()
        elif event == "shadow_compared":
            self.shadow_rows.inc(payload["rows"])
            self.shadow_disagreements.inc(payload["disagreements"])


class PredictMetrics(DirectHook):
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware) timing prediction requests; on the
    direct path called around them (a `serving.api.DirectHook`: `enter`, `leave`), which keeps that
    path free of ASGI messages.

    Requests in flight are not counted here: /metrics reads them from the server's own leases.
    """

    def __init__(self, app: ASGIApp, stats: PredictStats, scores: Callable[[str], bool]):
        self.app = app
        self.stats = stats
        self.scores = scores  # whether a path is a prediction route, from the protocols' declarations

    def enter(self, scope: Scope) -> float:
        return time.perf_counter()

    def leave(self, scope: Scope, started: float) -> None:
        if NOT_PREDICTION not in scope:  # an explanation is no prediction: the SLO and the ramp read these
            self.stats.record(*scope.get(ANSWERED, UNANSWERED), time.perf_counter() - started)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or NOT_PREDICTION in scope or (HOT not in scope and not self.scores(scope["path"])):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if HOT in scope:  # the hot path says who answered in the scope: no wrapper around each message
            try:
                await self.app(scope, receive, send)
            finally:
                self.stats.record(*scope.get(ANSWERED, UNANSWERED), time.perf_counter() - started)
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
            self.stats.record(*seen, time.perf_counter() - started)


class MonitoringLayer:
    """Prometheus metrics of the model server (/metrics) and release metrics pushed from the runs."""

    SETTINGS = MonitoringSettings  # its settings class (the settings reference lists it)

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pushgateway_url = MonitoringSettings.of(settings).pushgateway_url
        self.metrics = ServingMetrics()

    @hookimpl
    def mlops_layer_info(self) -> LayerInfo:
        return LayerInfo(
            "monitoring", "Prometheus metrics, Grafana dashboards and alert rules", "gitops/optional/monitoring"
        )

    @hookimpl
    def mlops_gitops_files(self) -> dict[str, str]:
        return gitops.files()

    @hookimpl
    def mlops_serving_startup(
        self,
        app: FastAPI,
        served: ServedView,
        metric_values: Callable[[], dict[str, float]],
        metric_samples: Callable[[], list[tuple[str, str, dict[str, str], float]]],
    ) -> None:
        app.add_middleware(PredictMetrics, stats=self.metrics.predicts, scores=served.scores)
        self.metrics.layer_counters.source, self.metrics.layer_counters.samples = metric_values, metric_samples
        self.served = self.metrics.ramp.served = served

    @hookimpl
    def mlops_serving_protocols(self) -> list[Protocol]:
        return [self.protocol]

    @cached_property
    def protocol(self) -> Protocol:
        router = APIRouter()

        @router.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(self.metrics.exposition(self.served), media_type=CONTENT_TYPE_LATEST)

        return Protocol("prometheus metrics", router)

    @hookimpl
    def mlops_serving_event(self, event: ServingEvent, payload: dict[str, Any]) -> None:
        self.metrics.serving_event(event, payload)

    @hookimpl
    def mlops_lifecycle_event(self, event: LifecycleEvent, payload: dict[str, Any]) -> None:
        gateway = self.pushgateway_url
        if not gateway:
            _log.debug("PUSHGATEWAY_URL is not set: release event %s not pushed", event)
            return
        try:
            pipeline_metrics.push_event(gateway, self.settings.mlops_env, event, payload)
        except (OSError, httpx.HTTPError) as exc:  # the gateway is down or refuses: logged, never raised
            _log.warning("release event %s not pushed to %s: %s", event, gateway, exc)

    @hookimpl
    def mlops_dagster_definitions(self):
        from optional_layers.monitoring.definitions import monitoring_definitions  # Dagster only where it runs

        return monitoring_definitions(self.settings)

    @hookimpl
    def mlops_ramp_evidence(self, champion_version: str, challenger_version: str, since: float) -> list:
        """Errors and slow requests of each alias since `since` (the step began), from PROMETHEUS_URL ([]
        when it is not set or cannot answer: the ramp holds, saying it has no data)."""
        from optional_layers.monitoring.ramp_evidence import ramp_evidence  # the ramp sensor only

        url = MonitoringSettings.of(self.settings).prometheus_url
        if not url:
            return []
        try:
            return ramp_evidence(url, champion_version, challenger_version, since, time.time())
        except (OSError, httpx.HTTPError, KeyError, ValueError) as exc:
            _log.warning("ramp evidence not read from %s: %s", url, exc)
            return []
