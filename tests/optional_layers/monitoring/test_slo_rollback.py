"""The metric-driven rollback end to end, every component real: a challenger that slows down, or
fails, under real traffic, Prometheus scraping the model server, the SLO sensor ticking in a real
Dagster daemon, which runs the rollback; the alias and the served model end on the previous version.
(No data and Prometheus down never roll back: tests/optional_layers/monitoring/test_prometheus.py.)"""

from __future__ import annotations

import threading

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from mlflow import MlflowClient

from core_assets.definitions import build_definitions
from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.history import alias_moves
from core_assets.release.registry import register_version
from mlops_platform import processes
from mlops_platform.release_watch import served_version, wait_for
from mlops_platform.stack import dagster_home
from tests.core_assets.runs import run_job
from tests.handmade_versions import register_failing_version
from tests.optional_layers.monitoring.conftest import start_prometheus
from tests.support import ROW, start_daemon, start_server, wired_to

pytestmark = pytest.mark.slow

MAX_P99_S = 0.01  # the in-process models answer one row in ~1 ms; the slow challenger in ~20-40 ms


def _register_slow_version(client: MlflowClient, model_name: str) -> str:
    """A real model that is slow to predict: a 400-tree random forest."""
    features = builtin_features()
    trained = train_and_log(
        features,
        TrainingSpec(
            estimator="sklearn.ensemble.RandomForestClassifier", params={"n_estimators": 400, "random_state": 0}
        ),
        "serving-tests",
        {},
    )
    return str(register_version(client, model_name, trained.model_uri, trained.run_id).version)


def _traffic(url: str, stop: threading.Event, rows=(ROW,)) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            for row in rows:
                client.post(f"{url}/variant/B/predict", json={"data": [row]})


def _rolled_back_by_the_daemon(settings, fresh_model, envs, tmp_path, bad: str, rows, limits: dict[str, str]):
    """Release `bad` on B, send it `rows` in a loop, start the daemon with the SLO `limits`: the
    daemon's SLO sensor must put B back on the version before; returns the rollback's reason."""
    mlflow = MlflowClient(settings.mlflow_tracking_uri)
    good = fresh_model.versions[-1]  # B
    server = start_server(
        tmp_path, {"MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri, "MODEL_NAME": fresh_model.name, **envs}
    )
    stop_traffic = threading.Event()
    services, daemon = [server], None
    try:
        prometheus = start_prometheus(tmp_path, server.url)
        services.append(prometheus)
        settings = wired_to(settings.model_copy(update={"model_name": fresh_model.name}), server.url)
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            # the release the sensor will undo, recorded in the instance the daemon will use
            release = {"ops": {"served_alias": {"config": {"version": bad, "reason": "a bad challenger"}}}}
            assert run_job(build_definitions(settings), instance, "deploy_job", release).success
            assert served_version(server.url, "B") == bad
            for _ in range(3):
                threading.Thread(target=_traffic, args=(server.url, stop_traffic, rows), daemon=True).start()

            daemon = start_daemon(
                settings,
                tmp_path,
                {**envs, "PROMETHEUS_URL": prometheus.url, "ROLLBACK_WINDOW": "10s", **limits},
            )
            wait_for("the rollback", lambda: served_version(server.url, "B") == good, timeout_s=180)

            [rollback] = instance.get_runs(RunsFilter(job_name="rollback_job"))
            assert rollback.tags["dagster/sensor_name"] == "slo_rollback_sensor"
            wait_for("the rollback run to finish", lambda: instance.get_run_by_id(rollback.run_id).is_finished)
            assert instance.get_run_by_id(rollback.run_id).status == DagsterRunStatus.SUCCESS
            [move, *_] = alias_moves(instance, alias="B")
        assert mlflow.get_registered_model(fresh_model.name).aliases["B"] == good
        answer = httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]}).json()
        assert answer["version"] == good
        return move.reason
    finally:
        stop_traffic.set()
        if daemon is not None:
            processes.stop(daemon)
        for service in reversed(services):
            processes.stop(service)


def test_a_failing_challenger_is_rolled_back_by_the_error_ratio_rule(
    settings, fresh_model, envs_with_monitoring, tmp_path
):
    failing = register_failing_version(settings.mlflow_tracking_uri, fresh_model.name)
    rows = builtin_features().x_test.to_numpy().tolist()
    reason = _rolled_back_by_the_daemon(
        settings, fresh_model, envs_with_monitoring, tmp_path, failing, rows, {"ROLLBACK_MAX_ERROR_RATIO": "0.05"}
    )
    assert "error ratio" in reason and "p99" not in reason, reason


def test_a_slow_challenger_is_rolled_back_by_the_daemon(settings, fresh_model, envs_with_monitoring, tmp_path):
    slow = _register_slow_version(MlflowClient(settings.mlflow_tracking_uri), fresh_model.name)
    reason = _rolled_back_by_the_daemon(
        settings,
        fresh_model,
        envs_with_monitoring,
        tmp_path,
        slow,
        (ROW,),
        {"ROLLBACK_MAX_P99_SECONDS": str(MAX_P99_S)},
    )
    assert "p99" in reason, reason
