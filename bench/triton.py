"""Triton in the serving suite: one Triton (the nvidia-pytriton wheel's, pinned to the server core
like every other target) behind two targets: this server with SERVING_BACKEND=triton, and Triton
alone, answering its own KServe v2 HTTP endpoint for the same model export (what a team running
Triton without a model server in front would measure)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from bench import startup
from mlops_base.settings import Settings
from mlops_platform import processes
from mlops_platform import triton_server as triton
from serving.runtimes.model_meta import read_mlmodel
from serving.runtimes.safe_load import LoadPolicy
from serving.runtimes.triton_export import DIRECT_CLIENTS_QUEUE_DELAY_US, export, skops_file

ADMIN_KEY = "bench-admin-key-0123456789"
MAX_ROWS = Settings.model_fields["max_rows"].default
DIRECT_MODEL = "iris"


def start(workdir: Path, model_dir: Path) -> tuple[processes.Service, float]:
    """Triton on the server core with the registered version exported as `iris` (taking as many
    rows as the model server's default MAX_ROWS) and loaded; returns it and its time to ready."""
    install = triton.TritonInstall(triton.VENV)
    why = triton.unavailable(install)
    if why:
        raise RuntimeError(f"Triton cannot run here: {why}")
    repository = workdir / "triton-models"
    repository.mkdir(parents=True, exist_ok=True)
    ports = processes.free_ports(3)
    started = time.monotonic()
    service, _ = startup.start_timed(
        "triton",
        triton.command(install, repository, ports, ADMIN_KEY),
        workdir / "triton.log",
        f"http://127.0.0.1:{ports[0]}",
        "/v2/health/ready",
        triton.server_env(install),
        timeout_s=120,
    )
    try:
        meta = read_mlmodel(model_dir)
        export(
            model_dir,
            meta,
            repository,
            "iris",
            "1",
            MAX_ROWS,
            LoadPolicy().skops_types(skops_file(model_dir, meta), "the bench's model"),
            name=DIRECT_MODEL,
            max_queue_delay_us=DIRECT_CLIENTS_QUEUE_DELAY_US,  # Triton alone: its clients send single rows
        )
        loaded = httpx.post(
            f"{service.url}/v2/repository/models/{DIRECT_MODEL}/load",
            headers={triton.ADMIN_HEADER: ADMIN_KEY},
            timeout=120,
        )
        loaded.raise_for_status()
    except BaseException:
        processes.stop(service)
        raise
    return service, time.monotonic() - started


def server_env(service: processes.Service, workdir: Path) -> dict[str, str]:
    """What this server needs to serve both aliases through that Triton."""
    return {
        "SERVING_BACKEND": "triton",
        "TRITON_URL": service.url,
        "TRITON_ADMIN_KEY": ADMIN_KEY,
        "TRITON_MODEL_REPOSITORY": str(workdir / "triton-models"),
    }
