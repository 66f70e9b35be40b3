"""The serving suite's targets, run together: started (one Triton behind both Triton targets),
checked to give the same predictions, stopped."""

from __future__ import annotations

from pathlib import Path

import httpx

from bench import load
from bench import triton as bench_triton
from bench.startup import start
from bench.targets import Target, rows_of
from mlops_platform import processes


def _predictions(target: Target, answer: dict | list) -> list:
    if isinstance(answer, list):  # BentoML: the API's return value as is
        return answer
    if target.path.startswith("/v2/"):  # KServe v2: MLServer, Triton
        return answer["outputs"][0]["data"]
    return answer["predictions"]


def check_answers(targets: list[Target]) -> None:
    """All model-serving targets give the same predictions for the same 100 rows."""
    rows = rows_of(100)
    seen = {}
    for target in targets:
        response = httpx.post(
            target.service.url + target.path,
            content=target.body(rows),
            headers={"content-type": "application/json", **target.headers},
            timeout=30,
        )
        response.raise_for_status()
        if target.key != "b0":
            seen[target.key] = [int(p) for p in _predictions(target, response.json())]
    if len({tuple(p) for p in seen.values()}) > 1:
        raise RuntimeError(f"targets disagree on the same rows: {seen}")


def start_targets(targets: list[Target], workdir: Path) -> processes.Service | None:
    """Start every target (one Triton behind both Triton targets); returns that Triton, if any."""
    triton_targets = {t.key: t for t in targets if "triton" in t.key}
    triton_server = None
    if triton_targets:
        print("starting triton...", flush=True)
        triton_server, ready_s = bench_triton.start(workdir, next((workdir / "mlflow-model").rglob("MLmodel")).parent)
        if "triton" in triton_targets:
            triton_targets["triton"].service, triton_targets["triton"].start_s = triton_server, ready_s
        if "ours_triton" in triton_targets:
            triton_targets["ours_triton"].env.update(bench_triton.server_env(triton_server, workdir))
            triton_targets["ours_triton"].backend = triton_server
    for target in targets:
        if target.service is None:
            print(f"starting {target.key}...", flush=True)
            # the ones started already paused, as in the rounds: their background work (a watch's
            # polls, a peer's workers) took the server core from a later start (B0 came out 2.0 s, B1 1.5)
            with load.paused({t.service.process.pid for t in targets if t.service is not None and t.pausable}):
                start(target, workdir)
    return triton_server


def stop_targets(targets: list[Target], triton_server: processes.Service | None) -> None:
    for target in targets:
        if target.service is not None and target.service is not triton_server:
            processes.stop(target.service)
    if triton_server is not None:
        processes.stop(triton_server)
