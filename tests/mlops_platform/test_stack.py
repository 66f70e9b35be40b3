"""What the launcher hands the Dagster processes it starts (`dagster dev`, `./mlops materialize`)."""

from __future__ import annotations

import yaml

from mlops_base.settings import load_settings
from mlops_platform.stack import dagster_env


def test_dagster_uses_the_platforms_own_registry_and_server_whatever_the_launchers_environment(monkeypatch, tmp_path):
    # e.g. left behind by `mlflow.set_tracking_uri` in the same process
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1/stray")
    monkeypatch.setenv("SERVING_URL", "http://127.0.0.1:2/stray")
    settings = load_settings("dev", mlops_state_dir=tmp_path, mlflow_port=5123, serving_port=8123)

    env = dagster_env(settings)

    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5123"
    assert env["SERVING_URL"] == "http://127.0.0.1:8123"
    assert env["MLOPS_STATE_DIR"] == str(tmp_path) and env["MLOPS_ENV"] == "dev"
    instance = yaml.safe_load((tmp_path / "dagster" / "dagster.yaml").read_text())
    assert "storage" not in instance  # dev: SQLite under DAGSTER_HOME
