"""Release metrics, pushed to a Prometheus Pushgateway by the Dagster run or sensor that caused them.

Runs are short-lived and may run on any machine (a Kubernetes job), so nothing is shared on disk:
each event reads the env's group back from the gateway, adds itself and pushes the group again.
Two events of the same env pushed within the same few milliseconds may count once; release
events are seconds apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    SummaryMetricFamily,
)
from prometheus_client.parser import text_string_to_metric_families

JOB = "mlops_pipeline"


@dataclass(eq=False)  # a collector: registered by identity
class PipelineState:
    """The env's release metrics as the gateway holds them."""

    events: dict[str, float] = field(default_factory=dict)
    serve_seconds_count: float = 0.0
    serve_seconds_sum: float = 0.0
    last_event_at: float = 0.0

    def record(self, event: str, payload: dict[str, Any], now: float) -> None:
        self.events[event] = self.events.get(event, 0.0) + 1
        self.last_event_at = now
        registered_at = payload.get("registered_at")
        if event == "served" and payload.get("lever") == "release" and registered_at:
            self.serve_seconds_count += 1
            self.serve_seconds_sum += max(0.0, now - datetime.fromisoformat(registered_at).timestamp())

    def collect(self):
        events = CounterMetricFamily("mlops_pipeline_events", "Release lifecycle events", labels=["event"])
        for event, count in sorted(self.events.items()):
            events.add_metric([event], count)
        yield events
        yield SummaryMetricFamily(
            "mlops_registration_to_serving_seconds",
            "Time from a version's registration to it being served",
            count_value=self.serve_seconds_count,
            sum_value=self.serve_seconds_sum,
        )
        last = GaugeMetricFamily("mlops_last_release_event_timestamp_seconds", "When the last release event happened")
        last.add_metric([], self.last_event_at)
        yield last


def read_state(gateway_url: str, env: str, timeout_s: float) -> PipelineState:
    """The env's group as the gateway exposes it (empty when nothing was pushed yet)."""
    response = httpx.get(f"{gateway_url.rstrip('/')}/metrics", timeout=timeout_s)
    response.raise_for_status()
    state = PipelineState()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.labels.get("job") != JOB or sample.labels.get("env") != env:
                continue
            if sample.name == "mlops_pipeline_events_total":
                state.events[sample.labels["event"]] = sample.value
            elif sample.name == "mlops_registration_to_serving_seconds_count":
                state.serve_seconds_count = sample.value
            elif sample.name == "mlops_registration_to_serving_seconds_sum":
                state.serve_seconds_sum = sample.value
            elif sample.name == "mlops_last_release_event_timestamp_seconds":
                state.last_event_at = sample.value
    return state


def push_event(
    gateway_url: str, env: str, event: str, payload: dict[str, Any], now: float | None = None, timeout_s: float = 3.0
) -> PipelineState:
    """Count one lifecycle event in the env's group on the gateway; returns what was pushed."""
    state = read_state(gateway_url, env, timeout_s)
    state.record(event, payload, time.time() if now is None else now)
    registry = CollectorRegistry()
    registry.register(state)
    push_to_gateway(gateway_url, job=JOB, grouping_key={"env": env}, registry=registry, timeout=timeout_s)
    return state
