"""`mlops up` starts real MLflow, model and Dagster servers and reuses state; whatever ends it (Ctrl-C
with its output piped into a `tee` that the same Ctrl-C stops, a closed terminal's SIGHUP, SIGTERM,
SIGKILL) leaves no process behind and every port free. `--replicas 3` puts HAProxy in front of three
model servers."""

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

pytestmark = pytest.mark.real  # `./mlops up`: MLflow, uvicorn and Dagster

MLOPS = str(Path(sys.executable).parent / "mlops")


def _env(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(REPO_ROOT / "envs", tmp_path / "envs")  # the test commits to this copy
    return {
        **os.environ,
        "MLOPS_ENVS_DIR": str(tmp_path / "envs"),
        "MLOPS_STATE_DIR": str(tmp_path / "state"),
        "MLFLOW_PORT": str(free_port()),
        "DAGSTER_PORT": str(free_port()),
        "SERVING_PORT": str(free_port()),
    }


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


def _commit_parameters_and_wait_for_v2(platform_env: Path, serving_url: str, mlflow_url: str) -> None:
    """A merged commit changes the training parameters: the launcher reloads the code location by
    itself, and the automation retrains, gates and releases v2 with nobody clicking anything."""
    text = platform_env.read_text()
    platform_env.write_text(re.sub(r"^ESTIMATOR_PARAMS=.*$", 'ESTIMATOR_PARAMS={"C": 0.5}', text, flags=re.M))
    deadline = time.monotonic() + 120
    while httpx.get(f"{serving_url}/models", timeout=5).json()["models"]["B"]["version"] != "2":  # dev's TARGET_ALIAS
        assert time.monotonic() < deadline, "the committed parameters were not released"
        time.sleep(0.5)
    client = MlflowClient(mlflow_url)
    run_id = client.get_model_version("iris-classifier", "2").run_id
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
        assert not [noise for noise in ("Warning", "Traceback", "Downloading artifacts", "🏃") if noise in lines]
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
                _commit_parameters_and_wait_for_v2(tmp_path / "envs/dev/platform.env", serving_url, mlflow_url)
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
