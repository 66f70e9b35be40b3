"""`mlops up` starts real MLflow, model and Dagster servers and reuses state; whatever ends it (Ctrl-C
with its output piped into a `tee` that the same Ctrl-C stops, a closed terminal's SIGHUP, SIGTERM,
SIGKILL) leaves no process behind and every port free. `--replicas 3` puts HAProxy in front of three
model servers, and the daily levers run against them as a user runs them: `materialize` prints
outcomes only, `status` shows what each replica serves, `promote` and `rollback` move aliases through
the release path and print the verified outcome, a refused rollback is one line and exit 1,
`predict` sends a CSV from stdin, `logs` tails a service, `reset` asks first."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from mlops_base.settings import REPO_ROOT
from mlops_platform.processes import free_port, port_in_use
from tests.support import free_port_block

pytestmark = [pytest.mark.real, pytest.mark.slow]  # `./mlops up`: MLflow, uvicorn and Dagster

MLOPS = str(Path(sys.executable).parent / "mlops")


IRIS_CSV = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
NOISE = ("Traceback", "Warning", "Downloading artifacts", "🏃", "View run")


def _env(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(REPO_ROOT / "envs", tmp_path / "envs")  # the test commits to this copy
    mlflow_port, serving_port = free_port(), free_port_block(4)  # the balancer's port, then 3 replicas
    return {
        **os.environ,
        "MLOPS_ENVS_DIR": str(tmp_path / "envs"),
        "MLOPS_STATE_DIR": str(tmp_path / "state"),
        "MLFLOW_PORT": str(mlflow_port),
        "DAGSTER_PORT": str(free_port()),
        "SERVING_PORT": str(serving_port),
        # where the env's settings say its servers are, for `status` once the platform is down
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
        "SERVING_URL": f"http://127.0.0.1:{serving_port}",
    }


def _mlops(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    done = subprocess.run([MLOPS, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert not [noise for noise in NOISE if noise in done.stdout + done.stderr], done
    return done


def _served(url: str, alias: str) -> str:
    return httpx.get(f"{url}/models", timeout=5).json()["models"][alias]["version"]


def _levers_on_three_replicas(env: dict, replicas: list[str]) -> None:
    """Release v2 to B, promote it, roll A back, refuse a rollback to a missing version, predict,
    tail a log: each on every replica, as the commands print it."""
    materialized = _mlops(env, "materialize")
    assert materialized.returncode == 0, materialized.stdout
    assert "served_alias - alias B of iris-classifier moved v1 -> v2 (release of v2)" in materialized.stdout
    assert "all 3 replica(s) serve B=v2" in materialized.stdout
    assert "materialize.log" in materialized.stdout.splitlines()[-1]

    status = _mlops(env, "status")
    assert status.returncode == 0, status.stderr
    assert "A -> v1" in status.stdout and "B -> v2" in status.stdout and "DIFFERS" not in status.stdout
    assert all(f"{url} serves v2" in status.stdout for url in replicas), status.stdout
    assert "B  v1 -> v2  release" in status.stdout and "monitoring   off" in status.stdout

    promoted = _mlops(env, "promote", "--reason", "v2 wins the A/B")
    assert promoted.returncode == 0 and promoted.stdout.startswith("A: v1 -> v2; every replica serves it"), promoted
    assert {_served(url, "A") for url in replicas} == {"2"}
    rolled = _mlops(env, "rollback", "--alias", "A")  # default: the version before the last move
    assert rolled.returncode == 0 and rolled.stdout.startswith("A: v2 -> v1"), rolled
    assert {_served(url, "A") for url in replicas} == {"1"}
    history = _mlops(env, "status", "-n", "2").stdout
    assert "A  v2 -> v1  rollback  by cli: rollback of A from v2 to v1" in history
    assert "A  v1 -> v2  promote   by cli: v2 wins the A/B" in history

    refused = _mlops(env, "rollback", "--to", "99")
    assert refused.returncode == 1 and refused.stderr.startswith(
        "error: rollback_job FAILURE: refused, alias B unchanged: iris-classifier version 99 does not exist"
    ), refused
    assert {_served(url, "B") for url in replicas} == {"2"}
    nothing = _mlops(env, "rollback", "--alias", "A", "--to", "1")
    assert nothing.returncode == 2 and "already points to v1" in nothing.stderr

    predicted = _mlops(env, "predict", "-", "--variant", "A", stdin=IRIS_CSV)  # through the balancer
    assert predicted.returncode == 0, predicted.stderr
    assert '"version":"1"' in predicted.stdout and '"predictions":[0,2]' in predicted.stdout
    bad = _mlops(env, "predict", "-", stdin="x,y\n1,2\n")
    assert bad.returncode == 1 and bad.stderr.startswith("error: 422 from") and "unknown column 'x'" in bad.stderr
    logs = _mlops(env, "logs", "serving-1", "-n", "100")
    assert logs.returncode == 0 and "POST /variant/A/reload" in logs.stdout  # the rollback's hot-swap
    assert _mlops(env, "reset").returncode == 2  # running: refused, nothing asked


def _ports(env: dict[str, str], replicas: int = 0) -> list[int]:
    serving = int(env["SERVING_PORT"])
    return [int(env["MLFLOW_PORT"]), int(env["DAGSTER_PORT"]), serving, *range(serving + 1, serving + 1 + replicas)]


def _start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([MLOPS, "up", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Press Ctrl-C" in line or proc.poll() is not None:
            break
    assert "Press Ctrl-C" in "".join(lines), "".join(lines)
    return proc, lines


def _descendants(pid: int) -> set[int]:
    """Every process under `pid` now, whatever session or group it moved to."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a reaper (a container's PID 1 may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _assert_all_gone(pids: set[int], ports: list[int]) -> None:
    deadline = time.monotonic() + 15  # the reaper's SIGTERM grace, after a SIGKILL of the launcher
    while time.monotonic() < deadline and ([p for p in pids if _running(p)] or [p for p in ports if port_in_use(p)]):
        time.sleep(0.2)
    assert not [p for p in pids if _running(p)], f"left running: {[p for p in pids if _running(p)]}"
    assert not [p for p in ports if port_in_use(p)], f"ports still held: {[p for p in ports if port_in_use(p)]}"


def _commit_parameters_and_wait_for_v3(platform_env: Path, serving_url: str, mlflow_url: str) -> None:
    """A merged commit changes the training parameters: the launcher reloads the code location by
    itself, and the automation retrains, gates and releases v3 with nobody clicking anything."""
    text = platform_env.read_text()
    platform_env.write_text(re.sub(r"^ESTIMATOR_PARAMS=.*$", 'ESTIMATOR_PARAMS={"C": 0.5}', text, flags=re.M))
    deadline = time.monotonic() + 120
    while httpx.get(f"{serving_url}/models", timeout=5).json()["models"]["B"]["version"] != "3":  # dev's TARGET_ALIAS
        assert time.monotonic() < deadline, "the committed parameters were not released"
        time.sleep(0.5)
    client = MlflowClient(mlflow_url)
    run_id = client.get_model_version("iris-classifier", "3").run_id
    assert client.get_run(run_id).data.tags["mlops.quality_gate"] == "passed"  # the automation's run gated it


def test_up_serves_both_uis_reuses_state_runs_replicas_and_leaves_nothing_whatever_stops_it(tmp_path):
    """Four starts of one env: the first trains and releases (then Ctrl-C through `| tee`); the
    others reuse its state: three replicas behind HAProxy (then SIGKILL of the launcher), then
    SIGHUP with the terminal gone, then a commit released by itself and SIGTERM."""
    env = _env(tmp_path)
    mlflow_url, serving_url = f"http://127.0.0.1:{env['MLFLOW_PORT']}", f"http://127.0.0.1:{env['SERVING_PORT']}"
    out = tmp_path / "up.log"
    # `./mlops up | tee up.log` in a session of its own, as a terminal runs it; Ctrl-C reaches both
    shell = subprocess.Popen(["bash", "-c", f"{MLOPS} up 2>&1 | tee {out}"], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 420
        while "Press Ctrl-C" not in (out.read_text() if out.exists() else ""):
            assert shell.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.5)
        lines = out.read_text()
        assert mlflow_url in lines
        assert httpx.get(f"http://127.0.0.1:{env['DAGSTER_PORT']}/server_info", timeout=5).status_code == 200
        # first start released a model with no manual step: /predict and /ready answer at once
        assert "first start: training and releasing the first model" in lines
        assert not [noise for noise in NOISE if noise in lines]
        predicted = httpx.post(f"{serving_url}/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]})
        assert predicted.status_code == 200 and predicted.json()["version"] == "1"
        assert httpx.get(f"{serving_url}/ready", timeout=5).status_code == 200
        MlflowClient(mlflow_url).create_registered_model("kept-across-restarts")
        started = _descendants(shell.pid)
        os.killpg(shell.pid, signal.SIGINT)  # Ctrl-C: tee dies with it, the launcher's stdout is a broken pipe
        shell.wait(90)
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
    _assert_all_gone(started, _ports(env))
    assert "telemetry:\n  enabled: false" in (tmp_path / "state/dagster/dagster.yaml").read_text()

    proc, lines = _start(env, "--replicas", "3")
    started = _descendants(proc.pid)
    try:
        text = "".join(lines)
        assert "first start" not in text
        replicas = re.findall(r"serving-\d\s+ready in [\d.]+s\s+(http://127\.0\.0\.1:\d+)", text)
        assert len(replicas) == 3 and f"balancer   ready              {serving_url}" in text, text
        answers = [
            httpx.post(f"{serving_url}/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers={"x-client-id": "u7"})
            for _ in range(6)
        ]
        assert {(a.status_code, a.json()["variant"], a.json()["version"]) for a in answers} == {(200, "A", "1")}
        assert all(httpx.get(f"{url}/models").json()["models"]["A"]["version"] == "1" for url in replicas)
        _levers_on_three_replicas(env, replicas)
        proc.kill()  # SIGKILL: no handler runs; the reaper ends what the launcher started
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _assert_all_gone(started, _ports(env, replicas=3))

    for stop in (signal.SIGHUP, signal.SIGTERM):  # a closed terminal, then a service manager
        proc, lines = _start(env)
        started = _descendants(proc.pid)
        try:
            names = [m.name for m in MlflowClient(mlflow_url).search_registered_models()]
            assert "kept-across-restarts" in names
            if stop == signal.SIGHUP:
                proc.stdout.close()  # the terminal is gone: nothing reads the launcher's output any more
            else:
                _commit_parameters_and_wait_for_v3(tmp_path / "envs/dev/platform.env", serving_url, mlflow_url)
            proc.send_signal(stop)
            proc.wait(90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, stop
        if stop == signal.SIGTERM:
            assert "code location reloaded" in proc.stdout.read()
        _assert_all_gone(started, _ports(env))
    down = _mlops(env, "status")
    assert down.returncode == 2 and down.stderr.startswith("error: registry http://127.0.0.1:"), down
    unconfirmed = _mlops(env, "reset")  # no terminal, no --yes
    assert unconfirmed.returncode == 2 and (tmp_path / "state").is_dir()
    reset = _mlops(env, "reset", "--yes")
    assert reset.returncode == 0 and not (tmp_path / "state").exists() and (tmp_path / "envs/dev").is_dir()
