"""Serving, side by side in one run: bare endpoints, peers and this server on the same model and core.

Every target is started (timed to ready), checked to give the same predictions, warmed up, and
then measured in interleaved rounds (round r of every target before round r + 1 of any), so slow
drift of the machine hits all targets alike. Figures are medians over the rounds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import joblib
import mlflow.artifacts
import mlflow.sklearn
import orjson

from bench import load, peers
from bench import triton as bench_triton
from bench.models import register_iris_model
from mlops_platform import processes

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = "bench-reload-token-0123456789"
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
BATCHES = (1, 100, 1_000, 10_000)
CONNECTIONS = (1, 32)
UVICORN_FLAGS = ["--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]


@dataclass
class Target:
    key: str
    label: str
    path: str
    ready_path: str
    body: Callable[[list[list[float]]], bytes]
    command: Callable[[int], list[str]] | None  # None: started by the suite (Triton alone)
    env: dict[str, str] = field(default_factory=dict)
    service: processes.Service | None = None
    backend: processes.Service | None = None  # a server it calls (Triton): measured with it
    start_s: float = 0.0
    memory_mb: float = 0.0

    @property
    def leaders(self) -> tuple[int, ...]:
        """The process groups whose CPU and memory are the target's."""
        assert self.service is not None
        return tuple(s.process.pid for s in (self.service, self.backend) if s is not None)


def _rows(n: int) -> list[list[float]]:
    """n distinct iris-like rows (so no cache could answer them)."""
    return [[round(IRIS_ROW[j] + (i % 97) * 0.01 * (j + 1), 3) for j in range(4)] for i in range(n)]


def data_body(rows: list[list[float]]) -> bytes:
    return orjson.dumps({"data": rows})


def _predictions(target: Target, answer: dict) -> list:
    if target.path.startswith("/v2/"):  # KServe v2: MLServer, Triton
        return answer["outputs"][0]["data"]
    return answer["predictions"]


def _export_model(tracking_uri: str, model_name: str, workdir: Path) -> tuple[Path, Path, list[str]]:
    """The registered version as an MLflow model directory and as a joblib file of the same estimator."""
    model_dir = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}@A",
            dst_path=str(workdir / "mlflow-model"),
            tracking_uri=tracking_uri,
        )
    )
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.sklearn.load_model(str(model_dir))
    model_file = workdir / "model.joblib"
    joblib.dump(model, model_file)
    return model_dir, model_file, list(model.feature_names_in_)


def uvicorn(factory: str) -> Callable[[int], list[str]]:
    """The command of an app factory under the same uvicorn settings for every FastAPI target."""
    return lambda port: [str(BIN / "uvicorn"), "--factory", factory, *UVICORN_FLAGS, "--port", str(port)]


def this_server(key: str, label: str, env: dict[str, str], app_dir: Path | None = None) -> Target:
    """The model server; from `app_dir` (a checkout of another revision) when given, else this tree."""
    command = uvicorn("serving.main:create_app")
    if app_dir is not None:
        return Target(
            key, label, "/predict", "/ready", data_body, lambda port: [*command(port), "--app-dir", str(app_dir)], env
        )
    return Target(key, label, "/predict", "/ready", data_body, command, env)


def build_targets(
    workdir: Path, tracking_uri: str, model_name: str, venvs: Path, wanted: set[str], before: tuple[str, Path] | None
) -> list[Target]:
    model_dir, model_file, columns = _export_model(tracking_uri, model_name, workdir)
    envs_on = workdir / "envs-monitoring-on"
    shutil.copytree(ROOT / "envs", envs_on, dirs_exist_ok=True)
    subprocess.run(
        [str(BIN / "mlops"), "layers", "on", "monitoring"],
        check=True,
        capture_output=True,
        env={**os.environ, "MLOPS_ENVS_DIR": str(envs_on)},
    )
    ours = {
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MODEL_NAME": model_name,
        "RELOAD_SECRET_TOKEN": TOKEN,
        "MLOPS_ENV": "dev",
        "ALIAS_SELECTION_MODE": "ab_test",
    }

    def mlserver(workers: int | None, name: str) -> Callable[[int], list[str]]:
        def command(port: int) -> list[str]:
            ports = (port, processes.free_port(), processes.free_port())
            return peers.mlserver_command(
                peers.ensure_venv(venvs, "mlserver"), workdir / name, model_file, ports, workers
            )

        return command

    targets = [
        Target(
            "b0",
            "B0: bare FastAPI, constant answer",
            "/predict",
            "/health",
            data_body,
            uvicorn("bench.baselines:create_b0"),
        ),
        Target(
            "b1",
            "B1: bare FastAPI + `model.predict`",
            "/predict",
            "/health",
            data_body,
            uvicorn("bench.baselines:create_b1"),
            {"BENCH_MODEL_PATH": str(model_file)},
        ),
        Target(
            "mlflow",
            "`mlflow models serve` 3.17.2",
            "/invocations",
            "/ping",
            lambda rows: peers.mlflow_serve_body(rows, columns),
            lambda port: peers.mlflow_serve_command(peers.ensure_venv(venvs, "mlflow"), model_dir, port),
            {"PATH": f"{venvs / 'mlflow' / 'bin'}:{os.environ['PATH']}"},
        ),  # it execs its venv's uvicorn
        Target(
            "mlserver",
            "MLServer 1.7.1 (default parallel_workers)",
            "/v2/models/iris/infer",
            "/v2/models/iris/ready",
            peers.kserve_v2_body,
            mlserver(None, "mlserver-default"),
        ),
        Target(
            "mlserver_pw0",
            "MLServer 1.7.1, parallel_workers=0",
            "/v2/models/iris/infer",
            "/v2/models/iris/ready",
            peers.kserve_v2_body,
            mlserver(0, "mlserver-pw0"),
        ),
        this_server("ours_nobatch", "this server, batching off", {**ours, "BATCH_MAX_ROWS": "0"}),
        this_server("ours", "**this server** (batching on)", ours),
        *([this_server("ours_before", f"this server at {before[0]} (batching on)", ours, before[1])] if before else []),
        this_server(
            "ours_monitoring", "this server, batching + monitoring on", {**ours, "MLOPS_ENVS_DIR": str(envs_on)}
        ),
        Target(
            "triton",
            "Triton 2.51 alone (KServe v2 HTTP, Python backend)",
            f"/v2/models/{bench_triton.DIRECT_MODEL}/infer",
            f"/v2/models/{bench_triton.DIRECT_MODEL}/ready",
            bench_triton.body,
            None,
        ),
        this_server("ours_triton", "this server, Triton backend", dict(ours)),  # + Triton's URL once it runs
    ]
    return [t for t in targets if not wanted or t.key in wanted]


def start(target: Target, workdir: Path) -> None:
    """Start pinned to the server core; the time to ready includes imports and model loading."""
    port = processes.free_port()
    command = target.command(port)  # may create a peer's venv: not part of its start-up time
    started = time.monotonic()
    target.service = processes.start_ready(
        target.key,
        ["taskset", "-c", load.SERVER_CORE, *command],
        workdir / f"{target.key}.log",
        f"http://127.0.0.1:{port}",
        target.ready_path,
        target.env,
        timeout_s=180,
    )
    target.start_s = time.monotonic() - started


def check_answers(targets: list[Target]) -> None:
    """All model-serving targets give the same predictions for the same 100 rows."""
    rows = _rows(100)
    seen = {}
    for target in targets:
        response = httpx.post(
            target.service.url + target.path,
            content=target.body(rows),
            headers={"content-type": "application/json"},
            timeout=30,
        )
        response.raise_for_status()
        if target.key != "b0":
            seen[target.key] = [int(p) for p in _predictions(target, response.json())]
    if len({tuple(p) for p in seen.values()}) > 1:
        raise RuntimeError(f"targets disagree on the same rows: {seen}")


@dataclass
class Scenario:
    rows: int
    connections: int

    @property
    def key(self) -> str:
        return f"{self.rows}x{self.connections}"


def measure(targets: list[Target], scenarios: list[Scenario], rounds: int, seconds: float) -> dict:
    bodies = {(t.key, s.rows): t.body(_rows(s.rows)) for t in targets for s in scenarios}
    for target in targets:  # warm-up
        one_row = bodies.get((target.key, 1)) or target.body(_rows(1))
        load.run_wrk(target.service.url + target.path, one_row, 32, 2, target.leaders)
        target.memory_mb = load.memory_mb(*target.leaders)
    results: dict[str, dict[str, list[load.Round]]] = {t.key: {s.key: [] for s in scenarios} for t in targets}
    for r in range(rounds):
        for scenario in scenarios:
            for target in targets:
                measured = load.run_wrk(
                    target.service.url + target.path,
                    bodies[target.key, scenario.rows],
                    scenario.connections,
                    seconds,
                    target.leaders,
                )
                results[target.key][scenario.key].append(measured)
            print(
                f"  round {r + 1}/{rounds}, {scenario.rows} rows x {scenario.connections} conns: "
                + ", ".join(f"{t.key} {results[t.key][scenario.key][-1].rps:.0f}/s" for t in targets),
                flush=True,
            )
    return results


def summarize(targets: list[Target], scenarios: list[Scenario], results: dict) -> dict:
    """Medians per target and scenario, and the failures (which must be none)."""
    summary = {}
    for target in targets:
        per = {}
        for scenario in scenarios:
            rounds = results[target.key][scenario.key]
            per[scenario.key] = {
                "rps": statistics.median(r.rps for r in rounds),
                "p50_ms": statistics.median(r.p50_ms for r in rounds),
                "p99_ms": statistics.median(r.p99_ms for r in rounds),
                "cpu_ms_per_request": statistics.median(r.cpu_ms_per_request for r in rounds),
                "failed": sum(r.failed for r in rounds),
            }
        summary[target.key] = {
            "label": target.label,
            "start_to_ready_s": target.start_s,
            "memory_mb": target.memory_mb,
            "scenarios": per,
        }
    return summary


def suite_result(targets: list[Target], scenarios: list[Scenario], results: dict, rounds: int, seconds: float) -> dict:
    """A suite's section of the results: when, how long, and the medians per target."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "rounds": rounds,
        "seconds": seconds,
        "scenarios": [s.key for s in scenarios],
        "targets": summarize(targets, scenarios, results),
    }


def run(
    workdir: Path,
    venvs: Path,
    rounds: int,
    seconds: float,
    batches: tuple[int, ...],
    wanted: set[str],
    before: tuple[str, Path] | None = None,
) -> dict:
    """`before`: (a revision, its checkout): its model server is measured beside this one (`ours_before`)."""
    load.require_wrk()
    scenarios = [Scenario(rows, conns) for rows in batches for conns in CONNECTIONS]
    mlflow_server = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    targets: list[Target] = []
    triton_server = None
    try:
        model_name = register_iris_model(mlflow_server.url)
        targets = build_targets(workdir, mlflow_server.url, model_name, venvs, wanted, before)
        triton_targets = {t.key: t for t in targets if "triton" in t.key}
        if triton_targets:
            print("starting triton...", flush=True)
            triton_server, ready_s = bench_triton.start(
                workdir, next((workdir / "mlflow-model").rglob("MLmodel")).parent
            )
            if "triton" in triton_targets:
                triton_targets["triton"].service, triton_targets["triton"].start_s = triton_server, ready_s
            if "ours_triton" in triton_targets:
                triton_targets["ours_triton"].env.update(bench_triton.server_env(triton_server, workdir))
                triton_targets["ours_triton"].backend = triton_server
        for target in targets:
            if target.service is None:
                print(f"starting {target.key}...", flush=True)
                start(target, workdir)
        check_answers(targets)
        results = measure(targets, scenarios, rounds, seconds)
    finally:
        for target in targets:
            if target.service is not None and target.service is not triton_server:
                processes.stop(target.service)
        if triton_server is not None:
            processes.stop(triton_server)
        processes.stop(mlflow_server)
    return {
        "rounds": rounds,
        "seconds": seconds,
        "scenarios": [s.key for s in scenarios],
        "targets": summarize(targets, scenarios, results),
    }
