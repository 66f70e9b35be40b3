"""Triton in the serving suite: one Triton (the nvidia-pytriton wheel's, pinned to the server core
like every other target) behind two targets: this server with SERVING_BACKEND=triton, and Triton
alone, answering its own KServe v2 HTTP endpoint for the same model export (what a team running
Triton without a model server in front would measure)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from mlflow.models import Model

from bench import load
from mlops_platform import processes, triton
from serving.runtimes.triton_export import INPUT, export

ADMIN_KEY = "bench-admin-key-0123456789"
DIRECT_MODEL = "iris"


def body(rows: list[list[float]]) -> bytes:
    flat = [value for row in rows for value in row]
    return json.dumps({"inputs": [{"name": INPUT, "shape": [len(rows), len(rows[0])], "datatype": "FP64",
                                   "data": flat}]}).encode()


def start(workdir: Path, model_dir: Path, max_rows: int) -> tuple[processes.Service, float]:
    """Triton on the server core with the registered version exported as `iris` and loaded;
    returns it and its time to ready (server start and model load)."""
    install = triton.TritonInstall(triton.VENV)
    why = triton.unavailable(install)
    if why:
        raise RuntimeError(f"Triton cannot run here: {why}")
    repository = workdir / "triton-models"
    repository.mkdir(parents=True, exist_ok=True)
    ports = (processes.free_port(), processes.free_port(), processes.free_port())
    started = time.monotonic()
    service = processes.start_ready(
        "triton", ["taskset", "-c", load.SERVER_CORE, *triton.command(install, repository, ports, ADMIN_KEY)],
        workdir / "triton.log", f"http://127.0.0.1:{ports[0]}", "/v2/health/ready", triton.server_env(install),
        timeout_s=120,
    )
    try:
        export(model_dir, Model.load(model_dir), repository, "iris", "1", max_rows, name=DIRECT_MODEL)
        loaded = httpx.post(f"{service.url}/v2/repository/models/{DIRECT_MODEL}/load",
                            headers={triton.ADMIN_HEADER: ADMIN_KEY}, timeout=120)
        loaded.raise_for_status()
    except BaseException:
        processes.stop(service)
        raise
    return service, time.monotonic() - started


def server_env(service: processes.Service, workdir: Path) -> dict[str, str]:
    """What this server needs to serve both aliases through that Triton."""
    return {"SERVING_BACKEND": "triton", "TRITON_URL": service.url, "TRITON_ADMIN_KEY": ADMIN_KEY,
            "TRITON_MODEL_REPOSITORY": str(workdir / "triton-models")}
