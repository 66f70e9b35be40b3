"""Named-column requests to the churn pipeline example (numeric, categorical and boolean columns with
missing values, a scikit-learn Pipeline with a ColumnTransformer): this server's `/predict` beside
`mlflow models serve` of the same registered version, the same `dataframe_split` bodies (10 and
100 rows), at 1 and 32 connections, in one run, their predictions cross-checked."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import mlflow.artifacts
import orjson
import pandas as pd

from bench import load, peers
from bench.serving import Scenario, measure, suite_result
from bench.startup import start
from bench.targets import TOKEN, Target, uvicorn
from core_assets.lib.data import build_features, load_dataset
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import load_settings
from mlops_platform import processes

BATCHES = (10, 100)
CONNECTIONS = (1, 32)
MODEL_NAME = "bench-churn"


def register_churn_model(tracking_uri: str) -> None:
    """The churn-pipeline env's model, trained and registered with the platform's own functions."""
    settings = load_settings("churn-pipeline")
    frame = load_dataset(settings.dataset, settings.target_column, settings.env_dir)
    features = build_features(frame, settings.target_column, settings.test_size, settings.split_seed, settings.task)
    mlflow.set_tracking_uri(tracking_uri)
    trained = train_and_log(features, TrainingSpec.of(settings), "bench", tags={})
    client = bounded_client(tracking_uri)
    version = register_version(client, MODEL_NAME, trained.model_uri, trained.run_id).version
    for alias in ("A", "B"):
        client.set_registered_model_alias(MODEL_NAME, alias, str(version))


def churn_rows() -> tuple[list[str], list[list]]:
    """The example's customers as JSON rows (missing values as null), without the target."""
    settings = load_settings("churn-pipeline")
    frame = load_dataset(settings.dataset, settings.target_column, settings.env_dir).drop(
        columns=[settings.target_column]
    )
    frame = frame.astype(object).where(pd.notna(frame), None)
    return list(frame.columns), frame.values.tolist()


def split_body(rows: list[list[float]]) -> bytes:
    """`len(rows)` churn customers in `dataframe_split` form (the harness hands iris rows: only their count is used)."""
    columns, customers = churn_rows()
    return orjson.dumps({"dataframe_split": {"columns": columns, "data": customers[: len(rows)]}})


def check_answers(targets: list[Target]) -> None:
    body = split_body([[0.0]] * 100)
    answers = {
        t.key: httpx.post(
            t.service.url + t.path, content=body, headers={"content-type": "application/json"}, timeout=30
        )
        for t in targets
    }
    for answer in answers.values():
        answer.raise_for_status()
    predictions = {key: answer.json()["predictions"] for key, answer in answers.items()}
    if len({tuple(p) for p in predictions.values()}) > 1:
        raise RuntimeError(f"targets disagree on the same rows: {predictions}")


def run(workdir: Path, venvs: Path, rounds: int, seconds: float) -> dict:
    load.require_wrk()
    workdir.mkdir(parents=True, exist_ok=True)
    mlflow_server = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    targets: list[Target] = []
    try:
        register_churn_model(mlflow_server.url)
        model_dir = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{MODEL_NAME}@A", dst_path=str(workdir / "model"), tracking_uri=mlflow_server.url
            )
        )
        env = {
            "MLOPS_ENV": "churn-pipeline",
            "MLOPS_STATE_DIR": str(workdir / "state"),
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "MODEL_NAME": MODEL_NAME,
            "RELOAD_SECRET_TOKEN": TOKEN,
        }
        targets = [
            Target(
                "mlflow",
                "`mlflow models serve` 3.17.2",
                "/invocations",
                "/ping",
                split_body,
                lambda port: peers.mlflow_serve_command(peers.ensure_venv(venvs, "mlflow"), model_dir, port),
                {"PATH": f"{venvs / 'mlflow' / 'bin'}:{os.environ['PATH']}"},
            ),
            Target(
                "ours", "**this server**", "/predict", "/ready", split_body, uvicorn("serving.main:create_app"), env
            ),
        ]
        for target in targets:
            print(f"starting {target.key}...", flush=True)
            start(target, workdir)
        check_answers(targets)
        scenarios = [Scenario(rows, conns) for rows in BATCHES for conns in CONNECTIONS]
        results = measure(targets, scenarios, rounds, seconds)
    finally:
        for target in targets:
            if target.service is not None:
                processes.stop(target.service)
        processes.stop(mlflow_server)
    return suite_result(targets, scenarios, results, rounds, seconds)
