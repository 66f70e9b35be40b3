"""A setting that cannot work for the model server is refused when it starts, in one line that
says why and what to use instead."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlops_base.settings import REPO_ROOT, SettingsError
from serving.main import create_app
from tests.fakes import fake_settings


@pytest.mark.parametrize("uri", ["sqlite:///mlflow.db", "file:///tmp/mlruns", "/tmp/mlruns"])
def test_a_registry_that_is_not_an_mlflow_server_is_refused(uri):
    with pytest.raises(SettingsError, match="point it at an MLflow server"):
        create_app(fake_settings(mlflow_tracking_uri=uri))


def test_uvicorns_call_says_it_in_one_line_without_a_traceback(tmp_path):
    env = {**os.environ, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db", "MLOPS_STATE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from serving.main import create_app; create_app()"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: MLFLOW_TRACKING_URI=sqlite:... cannot serve: the model server reads the registry over MLflow's "
        "REST API; point it at an MLflow server (http(s)://host:port, e.g. `./mlops mlflow-server`)"
    ]
