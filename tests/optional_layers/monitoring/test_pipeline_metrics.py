"""Release metrics survive across the short-lived processes that emit them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from optional_layers.monitoring.pipeline_metrics import PipelineCollector, record


def test_events_are_counted_and_registration_to_serving_is_measured(tmp_path):
    record(tmp_path, "version_registered", {"version": "3"}, now=100.0)
    record(tmp_path, "served", {"after_version": "3"}, now=109.5)
    record(tmp_path, "gate_failed", {"run_id": "x"}, now=120.0)
    record(tmp_path, "rolled_back", {"after_version": "2"}, now=130.0)

    registry = CollectorRegistry()
    registry.register(PipelineCollector(tmp_path))
    text = generate_latest(registry).decode()

    assert 'mlops_pipeline_events_total{event="gate_failed"} 1.0' in text
    assert 'mlops_pipeline_events_total{event="rolled_back"} 1.0' in text
    assert "mlops_registration_to_serving_seconds_count 1.0" in text
    assert "mlops_registration_to_serving_seconds_sum 9.5" in text
    assert "mlops_last_release_event_timestamp_seconds 130.0" in text
