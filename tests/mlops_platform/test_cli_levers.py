"""The daily levers as a user runs them against a real `./mlops up` (MLflow, uvicorn, Dagster):
`materialize` prints outcomes only, `status` shows what is served, `promote` and `rollback` move
aliases through the release path and print the verified outcome, a refused rollback is one line
and exit 1, `predict` sends a CSV from stdin, `logs` tails a service, `reset` asks first."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest

from tests.mlops_platform.test_cli_up import MLOPS, _env

pytestmark = pytest.mark.real

IRIS_CSV = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"


def _mlops(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([MLOPS, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300)


def _served(serving_url: str, alias: str) -> str:
    return httpx.get(f"{serving_url}/models", timeout=5).json()["models"][alias]["version"]


def _no_noise(result: subprocess.CompletedProcess) -> None:
    out = result.stdout + result.stderr
    for noise in ("Traceback", "Warning", "Downloading artifacts", "🏃", "View run"):
        assert noise not in out, out


def test_status_promote_rollback_predict_logs_and_reset_on_a_running_platform(tmp_path):
    env = _env(tmp_path)
    serving_url = f"http://127.0.0.1:{env['SERVING_PORT']}"
    # where the env's settings say its servers are, for `status` once the platform is down
    env |= {"SERVING_URL": serving_url, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{env['MLFLOW_PORT']}"}
    up = subprocess.Popen(
        [MLOPS, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        for line in up.stdout:
            if "Press Ctrl-C" in line:
                break
        assert up.poll() is None and _served(serving_url, "A") == "1"  # the first start released v1 to A and B

        materialized = _mlops(env, "materialize")
        assert materialized.returncode == 0, materialized.stdout
        assert "served_alias - alias B of iris-classifier moved v1 -> v2 (release of v2)" in materialized.stdout
        assert "materialize.log" in materialized.stdout.splitlines()[-1]
        _no_noise(materialized)

        status = _mlops(env, "status")
        assert status.returncode == 0, status.stderr
        assert "A -> v1" in status.stdout and "B -> v2" in status.stdout and "DIFFERS" not in status.stdout
        assert "B  v1 -> v2  release" in status.stdout and "monitoring   off" in status.stdout

        promoted = _mlops(env, "promote", "--reason", "v2 wins the A/B")
        assert promoted.returncode == 0 and promoted.stdout.startswith("A: v1 -> v2; every replica serves it"), promoted
        assert _served(serving_url, "A") == "2"

        rolled = _mlops(env, "rollback", "--alias", "A")  # default: the version before the last move
        assert rolled.returncode == 0 and rolled.stdout.startswith("A: v2 -> v1"), rolled
        assert _served(serving_url, "A") == "1"
        history = _mlops(env, "status", "-n", "2").stdout
        assert "A  v2 -> v1  rollback  by cli: rollback of A from v2 to v1" in history
        assert "A  v1 -> v2  promote   by cli: v2 wins the A/B" in history

        refused = _mlops(env, "rollback", "--to", "99")
        assert refused.returncode == 1 and refused.stderr.startswith(
            "error: rollback_job FAILURE: refused, alias B unchanged: iris-classifier version 99 does not exist"
        ), refused
        _no_noise(refused)
        assert _served(serving_url, "B") == "2"
        nothing = _mlops(env, "rollback", "--alias", "A", "--to", "1")
        assert nothing.returncode == 2 and "already points to v1" in nothing.stderr

        predicted = _mlops(env, "predict", "-", "--variant", "A", stdin=IRIS_CSV)
        assert predicted.returncode == 0, predicted.stderr
        assert '"version":"1"' in predicted.stdout and '"predictions":[0,2]' in predicted.stdout
        bad = _mlops(env, "predict", "-", stdin="x,y\n1,2\n")
        assert bad.returncode == 1 and bad.stderr.startswith("error: 422 from") and "unknown column 'x'" in bad.stderr

        logs = _mlops(env, "logs", "serving", "-n", "100")
        assert logs.returncode == 0 and "POST /variant/A/reload" in logs.stdout  # the rollback's hot-swap
        assert _mlops(env, "reset").returncode == 2  # running: refused, nothing asked
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(90)
    down = _mlops(env, "status")
    assert down.returncode == 2 and down.stderr.startswith("error: registry http://127.0.0.1:"), down
    _no_noise(down)
    unconfirmed = _mlops(env, "reset")  # no terminal, no --yes
    assert unconfirmed.returncode == 2 and (tmp_path / "state").is_dir()
    reset = _mlops(env, "reset", "--yes")
    assert reset.returncode == 0 and not (tmp_path / "state").exists() and (tmp_path / "envs/dev").is_dir()
