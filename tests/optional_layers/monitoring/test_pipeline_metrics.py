"""Release metrics reach a real Pushgateway (Debian `prometheus-pushgateway`) from the run that
caused them, and accumulate across runs: no shared disk between Dagster and the model server."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from layer_api.manager import LayerManager
from mlops_platform import processes
from optional_layers.monitoring.pipeline_metrics import JOB, push_event


def _value(gateway: str, name: str, **labels: str) -> float | None:
    """A sample the gateway exposes, by name and labels (env, event...); None when absent."""
    text = httpx.get(f"{gateway}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("job") == JOB and labels.items() <= sample.labels.items():
                return sample.value
    return None


def test_events_accumulate_on_the_gateway_and_registration_to_serving_is_measured(pushgateway):
    registered = "1970-01-01T00:01:40+00:00"  # t = 100 s
    push_event(pushgateway, "dev", "version_registered", {"version": "3"}, now=100.0)
    push_event(pushgateway, "dev", "served", {"lever": "release", "registered_at": registered}, now=109.5)
    push_event(pushgateway, "dev", "served", {"lever": "promote", "registered_at": registered}, now=200.0)
    push_event(pushgateway, "dev", "rolled_back", {}, now=210.0)
    push_event(pushgateway, "dev", "rolled_back", {}, now=220.0)
    push_event(pushgateway, "prod", "gate_failed", {}, now=230.0)

    assert _value(pushgateway, "mlops_pipeline_events_total", env="dev", event="rolled_back") == 2
    assert _value(pushgateway, "mlops_pipeline_events_total", env="dev", event="served") == 2
    # only the release counts towards registration -> serving (a promote happens much later)
    assert _value(pushgateway, "mlops_registration_to_serving_seconds_count", env="dev") == 1
    assert _value(pushgateway, "mlops_registration_to_serving_seconds_sum", env="dev") == 9.5
    assert _value(pushgateway, "mlops_last_release_event_timestamp_seconds", env="dev") == 220
    assert _value(pushgateway, "mlops_pipeline_events_total", env="prod", event="gate_failed") == 1
    assert _value(pushgateway, "mlops_pipeline_events_total", env="prod", event="rolled_back") is None


def test_the_layer_pushes_with_the_callers_settings_and_a_dead_gateway_is_only_logged(
    pushgateway, settings, caplog, monkeypatch
):
    monkeypatch.setenv("PUSHGATEWAY_URL", pushgateway)
    staging = settings.model_copy(update={"mlops_env": "staging"})
    LayerManager(staging, {"monitoring"}).lifecycle_event("gate_failed", {"run_id": "r1"})
    assert _value(pushgateway, "mlops_pipeline_events_total", env="staging", event="gate_failed") == 1

    dead = f"http://127.0.0.1:{processes.free_port()}"
    monkeypatch.setenv("PUSHGATEWAY_URL", dead)
    LayerManager(settings, {"monitoring"}).lifecycle_event("gate_failed", {})
    assert f"release event gate_failed not pushed to {dead}" in caplog.text
