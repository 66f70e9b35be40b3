"""`mlops mlflow-server`, the MLflow container's command in the cluster: the same server `up` starts,
built from the env's settings, in the foreground."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mlops_platform.processes import free_port

MLOPS = str(Path(sys.executable).parent / "mlops")


def test_it_serves_the_env_registry_on_the_given_host_and_port(tmp_path):
    port = free_port()
    env = {**os.environ, "MLOPS_STATE_DIR": str(tmp_path), "MLFLOW_PORT": str(port)}
    proc = subprocess.Popen([MLOPS, "mlflow-server", "--env", "dev", "--host", "127.0.0.1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(proc, f"http://127.0.0.1:{port}/health")
        # the same server as `up`: its SQLite store under the env's state dir, only its own Host answered
        assert (tmp_path / "mlflow" / "mlflow.db").is_file()
        foreign = httpx.get(f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/search?max_results=1",
                            headers={"Host": "evil.example:80"}, timeout=5)
        assert foreign.status_code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_healthy(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"mlops mlflow-server exited with {proc.returncode}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not healthy within 90 s")


def test_a_postgres_s3_env_without_its_backend_secret_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_BACKEND_STORE_URI", "MLOPS_SECRETS_DIR")}
    done = subprocess.run([MLOPS, "mlflow-server", "--env", "prod"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert "needs MLFLOW_BACKEND_STORE_URI (a secret)" in done.stderr
