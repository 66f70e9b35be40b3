"""`mlops up` starts real MLflow, model and Dagster servers, stops them all on Ctrl-C, and reuses state."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from mlops_platform.processes import free_port

pytestmark = pytest.mark.real  # `./mlops up`: MLflow, uvicorn and Dagster


def _start(env: dict[str, str]) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlops"), "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Press Ctrl-C" in line or proc.poll() is not None:
            break
    assert "Press Ctrl-C" in "".join(lines), "".join(lines)
    return proc, lines


def _interrupt(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=90)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_serves_both_uis_stops_cleanly_and_reuses_state(tmp_path):
    mlflow_port, dagster_port, serving_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "MLOPS_STATE_DIR": str(tmp_path / "state"),
        "MLFLOW_PORT": str(mlflow_port),
        "DAGSTER_PORT": str(dagster_port),
        "SERVING_PORT": str(serving_port),
    }
    proc, lines = _start(env)
    try:
        assert f"http://127.0.0.1:{mlflow_port}" in "".join(lines)
        assert httpx.get(f"http://127.0.0.1:{dagster_port}/server_info", timeout=5).status_code == 200
        # first start released a model with no manual step: /predict and /ready answer at once
        assert "first start: training and releasing the first model" in "".join(lines)
        predicted = httpx.post(f"http://127.0.0.1:{serving_port}/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]})
        assert predicted.status_code == 200 and predicted.json()["version"] == "1"
        assert httpx.get(f"http://127.0.0.1:{serving_port}/ready", timeout=5).status_code == 200
        MlflowClient(f"http://127.0.0.1:{mlflow_port}").create_registered_model("kept-across-restarts")
        out = _interrupt(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    pids = [int(pid) for pid in re.findall(r"stopping \w+ \(pid (\d+)\)", out)]
    assert len(pids) == 3 and not any(_alive(pid) for pid in pids)
    assert "telemetry:\n  enabled: false" in (tmp_path / "state/dagster/dagster.yaml").read_text()

    proc, lines = _start(env)
    try:
        assert "first start" not in "".join(lines)
        names = [m.name for m in MlflowClient(f"http://127.0.0.1:{mlflow_port}").search_registered_models()]
        assert "kept-across-restarts" in names
    finally:
        _interrupt(proc)
    assert proc.returncode == 0
