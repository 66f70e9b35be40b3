"""Explanations on the shipped server, for a model of each kind of explainer, trained and
registered with the platform's own functions on breast cancer (30 columns), served by this server
as shipped (pinned to the server core like every target):

- a 100-tree, depth-6 LightGBM (the library's own TreeSHAP, in C++): the issue's targets;
- a 100-tree, depth-6 XGBoost (its own TreeSHAP, in C++);
- a 100-tree, depth-6 scikit-learn random forest (TreeSHAP in numpy and Python);
- k-nearest neighbours (permutation Shapley values over the stored background: the sampling
  explainer, the most Python-heavy path).

For each: one-row `POST /variant/A/explain`, one request after another (p50, p99); `/predict` at a
fixed rate (wrk, paced, half the rate measured first) with and without a client sending one-row
explanations back to back beside it (the p99 ratio: what explaining costs the answers).
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

TREES = {"n_estimators": 100, "max_depth": 6}
MODELS = {  # name -> (estimator, parameters)
    "LightGBM": ("lightgbm.LGBMClassifier", {**TREES, "num_leaves": 63, "verbose": -1, "random_state": 0}),
    "XGBoost": ("xgboost.XGBClassifier", {**TREES, "random_state": 0}),
    "random forest": ("sklearn.ensemble.RandomForestClassifier", {**TREES, "random_state": 0}),
    "k-nearest neighbours": ("sklearn.neighbors.KNeighborsClassifier", {"n_neighbors": 5}),
}
EXPLAINED = {"LightGBM": 500, "XGBoost": 500, "random forest": 100, "k-nearest neighbours": 20}


def _register(tracking_uri: str, estimator: str, params: dict) -> tuple[str, list[list[float]]]:
    mlflow.set_tracking_uri(tracking_uri)
    features = builtin_features("breast_cancer")
    trained = train_and_log(features, TrainingSpec(estimator=estimator, params=params), "bench", {})
    name = f"bench-explain-{uuid.uuid4().hex[:8]}"
    client = bounded_client(tracking_uri)
    version = str(register_version(client, name, trained.model_uri, trained.run_id).version)
    for alias in ("A", "B"):
        client.set_registered_model_alias(name, alias, version)
    return name, features.x_test.to_numpy().tolist()


def _explain_latencies(url: str, rows: list[list[float]], n: int) -> list[float]:
    times = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(n):
            started = time.perf_counter()
            http.post("/variant/A/explain", json={"data": [rows[i % len(rows)]]}).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times


def _measure(tracking_url: str, workdir: Path, kind: str, seconds: int) -> dict:
    name, rows = _register(tracking_url, *MODELS[kind])
    server = targets.this_server("ours", "this server", {"MLFLOW_TRACKING_URI": tracking_url, "MODEL_NAME": name})
    try:
        startup.start(server, workdir)
        url, pid = server.service.url, server.service.process.pid
        _explain_latencies(url, rows, max(EXPLAINED[kind] // 10, 2))  # warm
        one_row = _explain_latencies(url, rows, EXPLAINED[kind])
        body = targets.data_body(rows[:1])
        predict = f"{url}/variant/A/predict"
        rate = load.run_wrk(predict, body, 8, 3, pid).rps / 2
        alone = load.run_wrk(predict, body, 8, seconds, pid, rate=rate)
        stop, beside = threading.Event(), []

        def explaining() -> None:
            while not stop.is_set():
                beside.extend(_explain_latencies(url, rows, 1))

        worker = threading.Thread(target=explaining)
        worker.start()
        try:
            loaded = load.run_wrk(predict, body, 8, seconds, pid, rate=rate)
        finally:
            stop.set()
            worker.join()
    finally:
        if server.service is not None:
            processes.stop(server.service)
    return {
        "one_row_p50_ms": statistics.median(one_row),
        "one_row_p99_ms": float(np.percentile(one_row, 99)),
        "predict_rate": rate,
        "predict_p99_alone_ms": alone.p99_ms,
        "predict_p99_with_explain_ms": loaded.p99_ms,
        "explanations_beside": len(beside),
        "explain_p50_under_load_ms": statistics.median(beside) if beside else None,
    }


def run(workdir: Path, seconds: int = 10) -> dict:
    load.require_wrk()
    tracking = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    try:
        return {kind: _measure(tracking.url, workdir / str(i), kind, seconds) for i, kind in enumerate(MODELS)}
    finally:
        processes.stop(tracking)


def render(results: dict) -> list[str]:
    lightgbm = results["LightGBM"]
    lines = [
        "Each model on breast cancer (30 columns), served as shipped; one-row explanations one after "
        "another; /predict paced at half its maximum with and without explanations sent back to back "
        "beside it. The issue's targets are LightGBM's (100 trees, depth 6):",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    ratio = lightgbm["predict_p99_with_explain_ms"] / lightgbm["predict_p99_alone_ms"]
    judged = [
        ("one-row explain p50 <= 5 ms", f"{lightgbm['one_row_p50_ms']:.2f} ms", lightgbm["one_row_p50_ms"] <= 5),
        ("one-row explain p99 <= 20 ms", f"{lightgbm['one_row_p99_ms']:.2f} ms", lightgbm["one_row_p99_ms"] <= 20),
        (
            "/predict p99 under concurrent explain load within 1.1x of without",
            f"{lightgbm['predict_p99_with_explain_ms']:.2f} vs {lightgbm['predict_p99_alone_ms']:.2f} ms "
            f"= {ratio:.2f}x",
            ratio <= 1.1,
        ),
    ]
    lines += [f"| {what} | {value} | {'yes' if met else '**no**'} |" for what, value, met in judged]
    lines += [
        "",
        "| model (estimator) | explain p50 | p99 | /predict rate | /predict p99 alone | with explanations beside "
        "| ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, found in results.items():
        ratio = found["predict_p99_with_explain_ms"] / found["predict_p99_alone_ms"]
        lines.append(
            f"| {kind} ({MODELS[kind][0]}) | {found['one_row_p50_ms']:.1f} ms | {found['one_row_p99_ms']:.1f} ms "
            f"| {found['predict_rate']:,.0f} req/s | {found['predict_p99_alone_ms']:.2f} ms "
            f"| {found['predict_p99_with_explain_ms']:.2f} ms ({found['explanations_beside']:,}) | {ratio:.2f}x |"
        )
    return [*lines, ""]
