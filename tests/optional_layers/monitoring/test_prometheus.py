"""A real Prometheus (Debian `prometheus`) scrapes a real model server with the monitoring layer on,
and the Pushgateway the runs push release metrics to: the metrics appear, the rules evaluate, and
the SLO rollback sensor acts on real data only."""

from __future__ import annotations

import time

import httpx
import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from core_assets.definitions import build_definitions
from core_assets.resources import MlflowRegistry
from layer_api.manager import LayerManager
from mlops_platform import processes
from optional_layers.monitoring.definitions import SloSettings, slo_rollback_sensor
from optional_layers.monitoring.slo import read_slo
from tests.core_assets.runs import run_job
from tests.optional_layers.monitoring.conftest import start_prometheus
from tests.support import ROW, start_server


def _query(prometheus: str, expr: str) -> list:
    return httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()["data"]["result"]


def test_prometheus_scrapes_metrics_rules_evaluate_and_slo_sensor_acts(
    envs_with_monitoring, mlflow_server, fresh_model, settings, pushgateway, tmp_path
):
    server = start_server(
        tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": fresh_model.name, **envs_with_monitoring}
    )
    prometheus = None
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 200
        prometheus = start_prometheus(tmp_path, server.url, pushgateway)
        registry = MlflowRegistry(tracking_uri=mlflow_server, model_name=fresh_model.name, experiment="tests")
        instance = DagsterInstance.ephemeral()

        def evaluate(max_p99: float):
            slo = SloSettings(prometheus_url=prometheus.url, max_error_ratio=0.05, max_p99_seconds=max_p99, window="5s")
            with build_sensor_context(instance=instance, resources={"slo": slo, "registry": registry}) as context:
                return slo_rollback_sensor(context)

        # no traffic yet: nothing to judge, never a rollback
        no_data = evaluate(max_p99=0.0)
        assert isinstance(no_data, SkipReason) and "never rolling back on missing data" in no_data.skip_message

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for i in range(20):
                httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]})
                httpx.post(f"{server.url}/predict", json={"data": [ROW]}, headers={"x-client-id": f"p{i}"})
            if (
                _query(prometheus.url, 'sum(mlops_predict_requests_total{variant="B"}) > 200')
                and read_slo(prometheus.url, "B", "5s").p99_seconds is not None
            ):
                break
            time.sleep(0.5)

        assert _query(prometheus.url, 'mlops_model_loaded{alias="A"}')[0]["value"][1] == "1"
        groups = httpx.get(f"{prometheus.url}/api/v1/rules").json()["data"]["groups"]
        assert {g["name"] for g in groups} == {"mlops-serving", "mlops-releases", "mlops-cluster"}
        assert all(rule["health"] == "ok" for g in groups for rule in g["rules"])
        assert _query(prometheus.url, 'mlops:predict_latency_p99:5m{variant="B"}')

        within = evaluate(max_p99=10.0)
        assert isinstance(within, SkipReason) and "within SLO" in within.skip_message
        # a real breach (the SLO set below the measured p99) of a release recorded in Dagster's
        # event log: roll B back to what it served before
        defs = build_definitions(settings.model_copy(update={"model_name": fresh_model.name}))
        config = {"ops": {"served_alias": {"config": {"version": fresh_model.versions[0]}}}}
        assert run_job(defs, instance, "deploy_job", config).success
        # the version B serves now has not been served a whole window: not judged yet
        young = evaluate(max_p99=0.0)
        assert isinstance(young, SkipReason), young
        assert "judged once it has been served a whole window" in young.skip_message
        time.sleep(5)
        breach = evaluate(max_p99=0.0)
        assert isinstance(breach, RunRequest)
        config = breach.run_config["ops"]["served_alias"]["config"]
        assert config["alias"] == "B" and config["version"] == fresh_model.versions[1]
        assert "breached its SLO" in config["reason"] and "p99" in config["reason"]

        # release metrics pushed by a run reach Prometheus through the Pushgateway
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PUSHGATEWAY_URL", pushgateway)
            LayerManager(settings, {"monitoring"}).lifecycle_event("rolled_back", {"alias": "B"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _query(
            prometheus.url, 'mlops_pipeline_events_total{event="rolled_back",env="dev",job="mlops_pipeline"}'
        ):
            time.sleep(0.5)
        [sample] = _query(prometheus.url, 'mlops_pipeline_events_total{event="rolled_back"}')
        assert sample["value"][1] == "1"

        # Prometheus down: the breach can no longer be seen, and no rollback is requested blind
        processes.stop(prometheus)
        down = evaluate(max_p99=0.0)
        assert isinstance(down, SkipReason), down
        assert f"Prometheus at {prometheus.url} cannot answer (ConnectError" in down.skip_message
        assert down.skip_message.endswith("never rolling back without data")
    finally:
        if prometheus is not None:
            processes.stop(prometheus)
        processes.stop(server)
