"""Explanations on the shipped server: a 100-tree, depth-6 LightGBM (breast cancer, 30 columns)
trained and registered with the platform's own functions, served by this server as shipped
(pinned to the server core like every target).

- one-row `POST /variant/A/explain`, one request after another: p50 and p99;
- `/predict` at a fixed rate (wrk, paced, half the rate measured first) with and without a client
  sending one-row explanations back to back beside it: the p99 ratio.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from pathlib import Path

import httpx
import mlflow
import numpy as np

from bench import load, startup, targets
from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.mlflow_client import bounded_client
from mlops_platform import processes

PARAMS = {"n_estimators": 100, "max_depth": 6, "num_leaves": 63, "verbose": -1, "random_state": 0}
EXPLAINED = 500


def _register(tracking_uri: str) -> tuple[str, list[list[float]]]:
    mlflow.set_tracking_uri(tracking_uri)
    features = builtin_features("breast_cancer")
    trained = train_and_log(features, TrainingSpec(estimator="lightgbm.LGBMClassifier", params=PARAMS), "bench", {})
    name = f"bench-explain-{uuid.uuid4().hex[:8]}"
    client = bounded_client(tracking_uri)
    version = str(register_version(client, name, trained.model_uri, trained.run_id).version)
    for alias in ("A", "B"):
        client.set_registered_model_alias(name, alias, version)
    return name, features.x_test.to_numpy().tolist()


def _explain_latencies(url: str, rows: list[list[float]], n: int) -> list[float]:
    times = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(n):
            started = time.perf_counter()
            http.post("/variant/A/explain", json={"data": [rows[i % len(rows)]]}).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times


def run(workdir: Path, seconds: int = 10) -> dict:
    load.require_wrk()
    tracking = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    server = None
    try:
        name, rows = _register(tracking.url)
        server = targets.this_server("ours", "this server", {"MLFLOW_TRACKING_URI": tracking.url, "MODEL_NAME": name})
        startup.start(server, workdir)
        url, pid = server.service.url, server.service.process.pid
        _explain_latencies(url, rows, 50)  # warm
        one_row = _explain_latencies(url, rows, EXPLAINED)
        body = targets.data_body(rows[:1])
        predict = f"{url}/variant/A/predict"
        rate = load.run_wrk(predict, body, 8, 3, pid).rps / 2
        alone = load.run_wrk(predict, body, 8, seconds, pid, rate=rate)
        stop, beside = threading.Event(), []

        def explaining() -> None:
            while not stop.is_set():
                beside.extend(_explain_latencies(url, rows, 10))

        worker = threading.Thread(target=explaining)
        worker.start()
        try:
            loaded = load.run_wrk(predict, body, 8, seconds, pid, rate=rate)
        finally:
            stop.set()
            worker.join()
    finally:
        if server is not None and server.service is not None:
            processes.stop(server.service)
        processes.stop(tracking)
    return {
        "model": f"LightGBM {PARAMS['n_estimators']} trees, max_depth {PARAMS['max_depth']}, 30 columns",
        "one_row_p50_ms": statistics.median(one_row),
        "one_row_p99_ms": float(np.percentile(one_row, 99)),
        "predict_rate": rate,
        "predict_p99_alone_ms": alone.p99_ms,
        "predict_p99_with_explain_ms": loaded.p99_ms,
        "explanations_beside": len(beside),
        "explain_p50_under_load_ms": statistics.median(beside) if beside else None,
    }


def render(results: dict) -> list[str]:
    ratio = results["predict_p99_with_explain_ms"] / results["predict_p99_alone_ms"]
    judged = [
        ("one-row explain p50 <= 5 ms", f"{results['one_row_p50_ms']:.2f} ms", results["one_row_p50_ms"] <= 5),
        ("one-row explain p99 <= 20 ms", f"{results['one_row_p99_ms']:.2f} ms", results["one_row_p99_ms"] <= 20),
        (
            "/predict p99 under concurrent explain load within 1.1x of without",
            f"{results['predict_p99_with_explain_ms']:.2f} vs {results['predict_p99_alone_ms']:.2f} ms = {ratio:.2f}x",
            ratio <= 1.1,
        ),
    ]
    return [
        f"{results['model']}, served as shipped; {EXPLAINED} one-row explanations one after another; /predict "
        f"paced at {results['predict_rate']:,.0f} req/s (half its maximum) with and without "
        f"{results['explanations_beside']:,} explanations sent beside it.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {what} | {value} | {'yes' if met else '**no**'} |" for what, value, met in judged),
        "",
    ]
