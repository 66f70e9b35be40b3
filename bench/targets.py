"""The servers the serving suites measure: bare endpoints, peers and this server on the same model,
each started pinned to the server core and timed to ready, and checked to give the same answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import joblib
import mlflow.artifacts
import mlflow.sklearn
import orjson

import serving
from bench import peers
from bench import triton as bench_triton
from mlops_platform import processes

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = "bench-reload-token-0123456789"
PREDICT_TOKEN = "bench-predict-token-0123456789"
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
BATCHES = (1, 100, 1_000, 10_000)
CONNECTIONS = (1, 32)
# every FastAPI target under this server's shipped flags (serving.UVICORN_FLAGS: what `./mlops up`,
# the image and the Deployment run), the baselines included
UVICORN_FLAGS = ["--host", "127.0.0.1", *serving.UVICORN_FLAGS]


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
    memory_mb: float = 0.0  # PSS
    rss_mb: float = 0.0
    # paused (SIGSTOP) while others are measured; Triton is not: its Python-backend stub and the
    # server share locks in shared memory, and a stopped stub crashed the server (lock_exception)
    pausable: bool = True
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request (a credential)

    @property
    def leaders(self) -> tuple[int, ...]:
        """The process groups whose CPU and memory are the target's."""
        assert self.service is not None
        return tuple(s.process.pid for s in (self.service, self.backend) if s is not None)


def rows_of(n: int) -> list[list[float]]:
    """n distinct iris-like rows (so no cache could answer them)."""
    return [[round(IRIS_ROW[j] + (i % 97) * 0.01 * (j + 1), 3) for j in range(4)] for i in range(n)]


def data_body(rows: list[list[float]]) -> bytes:
    return orjson.dumps({"data": rows})


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


def uvicorn(factory: str, *flags: str) -> Callable[[int], list[str]]:
    """The command of an app factory under the same uvicorn settings for every FastAPI target (and
    the `flags` its launcher adds: the model server's own)."""
    return lambda port: [str(BIN / "uvicorn"), "--factory", factory, *UVICORN_FLAGS, *flags, "--port", str(port)]


def this_server(key: str, label: str, env: dict[str, str], app_dir: Path | None = None) -> Target:
    """The model server; from `app_dir` (a checkout of another revision, in its own environment)
    when given, else this tree."""
    command = uvicorn("serving.main:create_app")
    if app_dir is not None:  # run as that revision shipped it: its own flags
        own, flags = str(app_dir / ".venv" / "bin" / "uvicorn"), _shipped_flags(app_dir)
        return Target(
            key, label, "/predict", "/ready", data_body,
            lambda port: [own, "--factory", "serving.main:create_app", "--host", "127.0.0.1", *flags,
                          "--port", str(port), "--app-dir", str(app_dir)], env,
        )  # fmt: skip
    return Target(key, label, "/predict", "/ready", data_body, command, env)


def _shipped_flags(app_dir: Path) -> list[str]:
    """The uvicorn flags a checkout of another revision ships (`serving.UVICORN_FLAGS` there)."""
    python = app_dir / ".venv" / "bin" / "python"
    printed = subprocess.run(
        [str(python), "-c", "import json, serving; print(json.dumps(serving.UVICORN_FLAGS))"],
        cwd=app_dir, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(printed.stdout)


def _envs_with(workdir: Path, layer: str) -> Path:
    """A copy of the env tree with one layer on, toggled by the real CLI."""
    envs = workdir / f"envs-{layer}-on"
    shutil.copytree(ROOT / "envs", envs, dirs_exist_ok=True)
    subprocess.run(
        [str(BIN / "mlops"), "layers", "on", layer],
        check=True,
        capture_output=True,
        env={**os.environ, "MLOPS_ENVS_DIR": str(envs)},
    )
    return envs


def build_targets(
    workdir: Path,
    tracking_uri: str,
    model_name: str,
    venvs: Path,
    wanted: set[str],
    before: tuple[str, Path] | None,
    otlp_url: str = "",
) -> list[Target]:
    model_dir, model_file, columns = _export_model(tracking_uri, model_name, workdir)
    ours = {
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MODEL_NAME": model_name,
        "RELOAD_SECRET_TOKEN": TOKEN,
        "MLOPS_ENV": "dev",
        "ALIAS_SELECTION_MODE": "ab_test",
    }

    def mlserver(workers: int | None, name: str) -> Callable[[int], list[str]]:
        def command(port: int) -> list[str]:
            ports = (port, *processes.free_ports(2))
            return peers.mlserver_command(
                peers.ensure_venv(venvs, "mlserver"), workdir / name, model_file, ports, workers
            )

        return command

    def peer(name: str) -> Callable[[int], list[str]]:
        return lambda port: peers.PYTHON_PEERS[name](peers.ensure_venv(venvs, name), port)

    model = {"BENCH_MODEL_PATH": str(model_file)}
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
            model,
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
        Target("bentoml", f"BentoML {peers.BENTOML}", "/predict", "/readyz", data_body, peer("bentoml"), model),
        Target(
            "bentoml_batch",
            f"BentoML {peers.BENTOML}, adaptive batching",
            "/predict",
            "/readyz",
            data_body,
            peer("bentoml"),
            {**model, "BENCH_BATCHING": "1"},
        ),
        Target("litserve", f"LitServe {peers.LITSERVE}", "/predict", "/health", data_body, peer("litserve"), model),
        Target(
            "litserve_batch",
            f"LitServe {peers.LITSERVE}, batching (64 requests, 1 ms)",
            "/predict",
            "/health",
            data_body,
            peer("litserve"),
            {**model, "BENCH_MAX_BATCH": "64"},
        ),
        this_server("ours_nobatch", "this server, batching off (BATCH_MAX_ROWS=0)", {**ours, "BATCH_MAX_ROWS": "0"}),
        this_server("ours", "**this server, as shipped** (`./mlops up`'s command and defaults)", ours),
        *([this_server("ours_before", f"this server at {before[0]}, as shipped", ours, before[1])] if before else []),
        this_server(
            "ours_monitoring",
            "this server, batching + monitoring on",
            {**ours, "MLOPS_ENVS_DIR": str(_envs_with(workdir, "monitoring"))},
        ),
        this_server(
            "ours_logging",
            "this server, batching + logging on, Loki unreachable",
            {
                **ours,
                "MLOPS_ENVS_DIR": str(_envs_with(workdir, "logging")),
                "MLOPS_STATE_DIR": str(workdir / "state"),
                "LOKI_URL": f"http://127.0.0.1:{processes.free_port()}",  # nothing listens: every push fails
            },
        ),
        this_server(
            "ours_evaluation",
            "this server, batching + evaluation on (prediction log)",
            {
                **ours,
                "MLOPS_ENVS_DIR": str(_envs_with(workdir, "evaluation")),
                "MLOPS_STATE_DIR": str(workdir / "state"),
            },
        ),
        this_server(
            "ours_drift",
            "this server, batching + drift on (every column tested)",
            {**ours, "MLOPS_ENVS_DIR": str(_envs_with(workdir, "drift"))},
        ),
        this_server(
            "ours_ramp",
            "this server, ALIAS_SELECTION_MODE=ramp (B on its first step)",
            {**ours, "ALIAS_SELECTION_MODE": "ramp"},
        ),
        replace(
            this_server(
                "ours_predict_token",
                "this server, batching + PREDICT_TOKEN (every request authenticated)",
                {**ours, "PREDICT_TOKEN": PREDICT_TOKEN},
            ),
            headers={"Authorization": f"Bearer {PREDICT_TOKEN}"},
        ),
        this_server(
            "ours_tracing",
            "this server, tracing on (OTLP), default sampling (0.1% of requests)",
            {**ours, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url},
        ),
        this_server(
            "ours_tracing_all",
            "this server, tracing on (OTLP), every request traced",
            {**ours, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url, "TRACING_SAMPLE_RATIO": "1"},
        ),
        Target(
            "triton",
            "Triton 2.51 alone (KServe v2 HTTP, Python backend)",
            f"/v2/models/{bench_triton.DIRECT_MODEL}/infer",
            f"/v2/models/{bench_triton.DIRECT_MODEL}/ready",
            peers.kserve_v2_body,
            None,
            pausable=False,
        ),
        this_server("ours_triton", "this server, Triton backend", dict(ours)),  # + Triton's URL once it runs
    ]
    return [t for t in targets if not wanted or t.key in wanted]
