"""The metric-driven rollback end to end, every component real: a challenger that slows down, or
fails, under real traffic, Prometheus scraping the model server, the SLO sensor ticking in a real
Dagster daemon, which runs the rollback; the alias and the served model end on the previous version.
(No data and Prometheus down never roll back: tests/optional_layers/monitoring/test_prometheus.py.)"""

from __future__ import annotations

import httpx
import pytest
from dagster import RunsFilter
from mlflow import MlflowClient

from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.history import alias_moves
from core_assets.release.registry import register_version
from mlops_platform.release_watch import served_version, wait_for
from tests.handmade_versions import register_failing_version
from tests.optional_layers.monitoring.conftest import daemon_platform
from tests.support import ROW

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


def _rolled_back_by_the_daemon(settings, fresh_model, envs, tmp_path, bad: str, rows, limits: dict[str, str]):
    """Release `bad` on B, send it `rows` in a loop, start the daemon with the SLO `limits`: the
    daemon's SLO sensor must put B back on the version before; returns the rollback's reason."""
    good = fresh_model.versions[-1]  # B
    with daemon_platform(settings, fresh_model.name, tmp_path, envs) as platform:
        platform.release(bad, "a bad challenger")  # the release the sensor will undo
        assert served_version(platform.server.url, "B") == bad
        platform.traffic("/variant/B/predict", rows, clients=3)
        platform.daemon({**envs, "ROLLBACK_WINDOW": "10s", **limits})
        wait_for("the rollback", lambda: served_version(platform.server.url, "B") == good, timeout_s=180)

        [rollback] = platform.instance.get_runs(RunsFilter(job_name="rollback_job"))
        assert rollback.tags["dagster/sensor_name"] == "slo_rollback_sensor"
        platform.finished(rollback.run_id)
        [move, *_] = alias_moves(platform.instance, alias="B")
        assert MlflowClient(settings.mlflow_tracking_uri).get_registered_model(fresh_model.name).aliases["B"] == good
        answer = httpx.post(f"{platform.server.url}/variant/B/predict", json={"data": [ROW]}).json()
        assert answer["version"] == good
        return move.reason


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
