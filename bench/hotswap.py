"""Hot-swap under load: reloads while wrk drives half the server's maximum rate.

wrk (core 1) paces its connections with a per-request delay to about half the rate measured first;
a probe client times one request after another, so its latencies can be split into those inside a
swap window (a reload in progress, or the 0.5 s after it) and steady state. Reloads alternate the
challenger alias between two versions. Afterwards, 200 more reloads back to back, and the server's
memory (PSS) before and after them.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from bench import load, startup, targets
from bench.models import register_iris_model
from bench.targets import TOKEN
from mlops_base.mlflow_client import bounded_client
from mlops_platform import processes

BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2]]}'
CONNECTIONS = 8
AFTER_SWAP_S = 0.5


def _swap(http: httpx.Client, client, model: str, version: str) -> float:
    """Move alias B to `version` in the registry and hot-swap the server to it; seconds taken."""
    client.set_registered_model_alias(model, "B", version)
    started = time.perf_counter()
    answer = http.post("/variant/B/reload", json={"version": version}, headers={"Authorization": f"Bearer {TOKEN}"})
    answer.raise_for_status()
    return time.perf_counter() - started


def _probe(url: str, stop: threading.Event, samples: list[tuple[float, float, int]]) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            started = time.perf_counter()
            status = http.post("/predict", content=BODY, headers={"content-type": "application/json"}).status_code
            samples.append((started, time.perf_counter() - started, status))
            time.sleep(0.002)


def run(workdir: Path, seconds: int = 60, swaps: int = 20, reloads: int = 200) -> dict:
    load.require_wrk()
    mlflow = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    server = None
    try:
        model = register_iris_model(mlflow.url)
        client = bounded_client(mlflow.url)
        second = register_iris_model(mlflow.url, name=model)  # a second version of the same model
        versions = ["1", second]
        server = targets.this_server(
            "ours",
            "this server",
            {
                "MLFLOW_TRACKING_URI": mlflow.url,
                "MODEL_NAME": model,
                "RELOAD_SECRET_TOKEN": TOKEN,
                "MLOPS_ENV": "dev",
            },
        )
        startup.start(server, workdir)
        pid = server.service.process.pid
        url = f"{server.service.url}/predict"
        max_rps = load.run_wrk(url, BODY, 32, 3, pid).rps
        target_rps = max_rps / 2
        samples: list[tuple[float, float, int]] = []
        windows: list[tuple[float, float]] = []
        durations: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=_probe, args=(server.service.url, stop, samples))
        result: dict = {}
        loader = threading.Thread(
            target=lambda: result.update(paced=load.run_wrk(url, BODY, CONNECTIONS, seconds, pid, rate=target_rps))
        )
        loader.start()
        probe.start()
        with httpx.Client(base_url=server.service.url, timeout=60) as http:
            interval = seconds / (swaps + 1)
            for i in range(swaps):
                time.sleep(interval)
                started = time.perf_counter()
                durations.append(_swap(http, client, model, versions[(i + 1) % 2]))
                windows.append((started, time.perf_counter() + AFTER_SWAP_S))
        loader.join()
        stop.set()
        probe.join()
        paced: load.Round = result["paced"]

        def in_window(t: float) -> bool:
            return any(a <= t <= b for a, b in windows)

        swap_ms = [d * 1000 for t, d, _ in samples if in_window(t)]
        steady_ms = [d * 1000 for t, d, _ in samples if not in_window(t)]
        probe_failed = sum(1 for *_, status in samples if status != 200)

        with httpx.Client(base_url=server.service.url, timeout=60) as http:
            memory_before = load.memory_mb(pid)
            reload_s = [_swap(http, client, model, versions[i % 2]) for i in range(reloads)]
            memory_after = load.memory_mb(pid)
    finally:
        if server is not None and server.service is not None:
            processes.stop(server.service)
        processes.stop(mlflow)
    return {
        "max_rps": max_rps,
        "target_rps": target_rps,
        "achieved_rps": (paced.requests + len(samples)) / seconds,
        "seconds": seconds,
        "swaps": len(durations),
        "failed_requests": paced.failed + probe_failed,
        "requests": paced.requests + len(samples),
        "p99_ms_swap_windows": float(np.percentile(swap_ms, 99)) if swap_ms else None,
        "p99_ms_steady": float(np.percentile(steady_ms, 99)) if steady_ms else None,
        "probe_samples": {"swap_windows": len(swap_ms), "steady": len(steady_ms)},
        "reload_ms_p50": statistics.median(durations) * 1000,
        "reload_ms_max": max(durations) * 1000,
        "reloads_back_to_back": reloads,
        "reload_ms_p50_back_to_back": statistics.median(reload_s) * 1000,
        "memory_mb_before": memory_before,
        "memory_mb_after": memory_after,
        "memory_growth": memory_after / memory_before - 1,
    }
