"""A message for every step, to a Slack-compatible webhook (a real local HTTP server, a stand-in
for Slack: nothing of Slack's runs here): registration with the gate's result, release with the
replicas, rollback with reason and trigger, drift, ramp, each linking its Dagster run and MLflow
version; SLACK_NOTIFY silences a kind; any failed run is told by the layer's run failure sensor
(its job, step, first line of the error, link); a dead webhook never fails the pipeline."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context, job, op

from core_assets.lib.events import emit_lifecycle_event
from layer_api.manager import LayerManager
from mlops_base.settings import SettingsError, load_settings
from mlops_platform.processes import free_port
from optional_layers.alerts import AlertsLayer, AlertsSettings

RELEASE = {
    "model_name": "churn",
    "alias": "A",
    "before_version": "3",
    "after_version": "4",
    "reason": "v4 is READY",
    "trigger": "sensor readiness_sensor",
    "detail": "2 of 2 replica(s) serve v4",
    "dagster_run_id": "0f1e2d3c-aaaa-bbbb-cccc-000000000000",
}


def _layers() -> LayerManager:
    """Built after the test set its webhook; alerts are built in: on with every layer off."""
    settings = load_settings("dev", mlflow_tracking_uri="http://127.0.0.1:5000", dagster_port=3000, model_name="churn")
    return LayerManager(settings, set())


@pytest.mark.parametrize(
    ("event", "payload", "said"),
    [
        (
            "version_registered",
            {"model_name": "churn", "version": "4", "gate": "accuracy 0.91 >= 0.8", "dagster_run_id": "0f1e2d3c-1"},
            ":white_check_mark: registered (quality gate passed): model_name=churn, version=4, gate=accuracy 0.91",
        ),
        ("served", RELEASE, ":rocket: released: model_name=churn, alias=A, before_version=3, after_version=4"),
        ("rolled_back", RELEASE, "rolled back: model_name=churn, alias=A, before_version=3, after_version=4, reason="),
        ("drift_detected", {"version": "4", "columns": "tenure"}, "inputs drifted from the version's reference"),
        ("ramp_advanced", {"model_name": "churn", "version": "4", "share_percent": 5}, "share_percent=5"),
    ],
)
def test_each_step_is_told_with_links_to_its_run_and_version(webhook, monkeypatch, event, payload, said):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    emit_lifecycle_event(event, payload, _layers())
    [posted] = received
    assert said in posted["text"]
    assert "<http://127.0.0.1:5000/#/models/churn/versions/4|MLflow churn v4>" in posted["text"]
    if "dagster_run_id" in payload:
        run = payload["dagster_run_id"]
        assert f"<http://127.0.0.1:3000/runs/{run}|Dagster run {run[:8]}>" in posted["text"]
        assert f"dagster_run_id={run}" not in posted["text"]  # a link, not a detail


def test_a_release_says_its_reason_trigger_and_replicas(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    monkeypatch.setenv("DAGSTER_UI_URL", "https://dagster.example.com")
    emit_lifecycle_event("served", RELEASE, _layers())
    [posted] = received
    for part in ("reason=v4 is READY", "trigger=sensor readiness_sensor", "detail=2 of 2 replica(s) serve v4"):
        assert part in posted["text"]
    assert "<https://dagster.example.com/runs/0f1e2d3c" in posted["text"]


def test_slack_notify_switches_each_kind(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    monkeypatch.setenv("SLACK_NOTIFY", "release,rollback")
    layers = _layers()
    emit_lifecycle_event("version_registered", {"version": "4"}, layers)
    emit_lifecycle_event("ramp_advanced", {"version": "4"}, layers)
    emit_lifecycle_event("rolled_back", RELEASE, layers)
    assert [m["text"].split(":", 2)[1] for m in received] == ["leftwards_arrow_with_hook"]
    monkeypatch.setenv("SLACK_NOTIFY", "release,deploys")
    with pytest.raises(SettingsError, match="SLACK_NOTIFY: unknown deploys; known: registration, release"):
        AlertsSettings.of(load_settings("dev"))


@op
def fails() -> None:
    raise ValueError("the input has no column 'tenure'\nTraceback details a message leaves out")


@job
def scoring() -> None:
    fails()


def test_a_failed_run_is_told_with_its_step_and_first_error_line(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    alerts = AlertsLayer(load_settings("dev", dagster_port=3000))
    [definitions] = [d for d in LayerManager(load_settings("dev"), set()).dagster_definitions() if d.sensors]
    sensor = definitions.resolve_sensor_def("run_failure_alerts")
    with DagsterInstance.ephemeral() as instance:
        result = scoring.execute_in_process(instance=instance, raise_on_error=False)
        [failure] = [e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE]
        context = build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        sensor(context)
    [posted] = received
    assert posted["text"].startswith(":rotating_light: a run failed: job=scoring, step=fails, error=")
    assert (
        "error=ValueError: the input has no column 'tenure' |" in posted["text"]
        and "Traceback details" not in posted["text"]
    )
    assert f"|Dagster run {result.run_id[:8]}>" in posted["text"] and alerts.links.dagster_ui in posted["text"]


def test_no_webhook_no_sensor_and_a_dead_one_never_fails_the_pipeline(caplog, monkeypatch):
    assert not [d for d in _layers().dagster_definitions() if d.sensors]  # no SLACK_WEBHOOK_URL
    dead = f"http://127.0.0.1:{free_port()}/hook-secret-path"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", dead)
    emit_lifecycle_event("gate_failed", {"version": "3"}, _layers())
    assert "alert gate_failed not delivered: ConnectError" in caplog.text and "hook-secret-path" not in caplog.text
