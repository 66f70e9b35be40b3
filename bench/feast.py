"""The feast layer's online path: `/predict {"entity_ids": [...]}` (online lookup through the
version's FeatureService, then predict) with the SQLite and the Redis online store, beside raw
`data` predict of the same server, at 1 and 32 connections, in one run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import orjson
from sklearn.datasets import load_iris

from bench import load
from bench.models import register_iris_model
from bench.serving import Scenario, measure, suite_result
from bench.startup import start
from bench.targets import BIN, ROOT, TOKEN, Target, data_body, uvicorn
from mlops_base.settings import load_settings
from mlops_platform import processes
from optional_layers.feast import repository
from optional_layers.feast.store import feature_store

CONNECTIONS = (1, 32)


def entity_body(rows: list[list[float]]) -> bytes:
    return orjson.dumps({"entity_ids": list(range(len(rows)))})


def _fill_store(state_dir: Path, online: str, model_name: str) -> None:
    """Iris ingested, materialized and the served version's FeatureService registered."""
    os.environ["FEAST_ONLINE_STORE"] = online  # the layer's own setting, read from the environment
    settings = load_settings("dev", mlops_state_dir=state_dir)
    ingest = repository.split_dataset(load_iris(as_frame=True).frame, settings)
    repository.write_offline(settings, ingest.features)
    store = feature_store(settings)
    repository.apply(store, settings, ingest.feature_names)
    repository.materialize(store, settings)
    repository.register_service(store, model_name, "1", ingest.feature_names)


def run(workdir: Path, rounds: int, seconds: float) -> dict:
    load.require_wrk()
    workdir.mkdir(parents=True, exist_ok=True)
    envs_on = workdir / "envs-feast-on"
    shutil.copytree(ROOT / "envs", envs_on, dirs_exist_ok=True)
    subprocess.run(
        [str(BIN / "mlops"), "layers", "on", "feast"],
        check=True,
        capture_output=True,
        env={**os.environ, "MLOPS_ENVS_DIR": str(envs_on)},
    )
    mlflow_server = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    redis: processes.Service | None = None
    targets: list[Target] = []
    try:
        redis = processes.start_redis(workdir)
        model_name = register_iris_model(mlflow_server.url)
        env = {
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "MODEL_NAME": model_name,
            "RELOAD_SECRET_TOKEN": TOKEN,
            "MLOPS_ENV": "dev",
            "MLOPS_ENVS_DIR": str(envs_on),
        }
        for name, online in (("sqlite", ""), ("redis", redis.url)):
            _fill_store(workdir / f"state-{name}", online, model_name)
        server = uvicorn("serving.main:create_app")
        sqlite_env = {**env, "MLOPS_STATE_DIR": str(workdir / "state-sqlite")}
        redis_env = {**env, "MLOPS_STATE_DIR": str(workdir / "state-redis"), "FEAST_ONLINE_STORE": redis.url}
        targets = [Target("data", "`data` rows (feast layer on)", "/predict", "/ready", data_body, server, sqlite_env)]
        for key, store, store_env in (("sqlite", "SQLite", sqlite_env), ("redis", "Redis", redis_env)):
            label = f"`entity_ids`, {store} online store"
            targets += [
                Target(key, f"{label} (rows kept 5 s)", "/predict", "/ready", entity_body, server, store_env),
                Target(
                    f"{key}_uncached",
                    f"{label}, every request read (FEAST_ONLINE_CACHE_SECONDS=0)",
                    "/predict",
                    "/ready",
                    entity_body,
                    server,
                    {**store_env, "FEAST_ONLINE_CACHE_SECONDS": "0"},
                ),
            ]
        for target in targets:
            print(f"starting {target.key}...", flush=True)
            start(target, workdir)
        scenarios = [Scenario(1, conns) for conns in CONNECTIONS]
        results = measure(targets, scenarios, rounds, seconds)
    finally:
        for target in targets:
            if target.service is not None:
                processes.stop(target.service)
        if redis is not None:
            processes.stop(redis)
        processes.stop(mlflow_server)
    return suite_result(targets, scenarios, results, rounds, seconds)
