"""`mlops mlflow-server`, the MLflow container's command in the cluster: the same server `up` starts,
built from the env's settings, in the foreground."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mlops_platform import processes

pytestmark = pytest.mark.real  # `mlops mlflow-server`: a real MLflow server

MLOPS = str(Path(sys.executable).parent / "mlops")


def test_it_serves_the_env_registry_on_the_given_host_and_port(tmp_path):
    port = processes.free_port()
    service = processes.start(
        "mlflow",
        [MLOPS, "mlflow-server", "--env", "dev", "--host", "127.0.0.1"],
        tmp_path / "mlflow.log",
        f"http://127.0.0.1:{port}",
        {"MLOPS_STATE_DIR": str(tmp_path), "MLFLOW_PORT": str(port)},
    )
    try:
        processes.wait_ready(service, "/health", 90)
        # the same server as `up`: its SQLite store under the env's state dir, only its own Host answered
        assert (tmp_path / "mlflow" / "mlflow.db").is_file()
        foreign = httpx.get(
            f"{service.url}/api/2.0/mlflow/experiments/search?max_results=1",
            headers={"Host": "evil.example:80"},
            timeout=5,
        )
        assert foreign.status_code == 403
    finally:
        processes.stop(service)


def test_a_postgres_s3_env_without_its_backend_secret_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_BACKEND_STORE_URI", "MLOPS_SECRETS_DIR")}
    done = subprocess.run(
        [MLOPS, "mlflow-server", "--env", "prod"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "needs MLFLOW_BACKEND_STORE_URI (a secret)" in done.stderr
