"""The feast layer's online path: `/predict {"entity_ids": [...]}` (online lookup through the
version's FeatureService, then predict) with the SQLite and the Redis online store, beside raw
`data` predict of the same server, at 1 and 32 connections, in one run."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import redis as redis_client
from sklearn.datasets import load_iris

from bench import load
from bench.models import register_iris_model
from bench.serving import BIN, ROOT, TOKEN, Scenario, Target, data_body, measure, start, summarize, uvicorn
from mlops_base.settings import load_settings
from mlops_platform import processes
from optional_layers.feast import repository
from optional_layers.feast.store import feature_store

CONNECTIONS = (1, 32)


def entity_body(rows: list[list[float]]) -> bytes:
    return orjson.dumps({"entity_ids": list(range(len(rows)))})


def _start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = processes.free_port()
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis_client.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return proc, f"redis://127.0.0.1:{port}"
        except redis_client.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def _fill_store(state_dir: Path, online: str, tracking_uri: str, model_name: str) -> None:
    """Iris ingested, materialized and the served version's FeatureService registered."""
    settings = load_settings("dev", mlops_state_dir=state_dir, feast_online_store=online)
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
    subprocess.run([str(BIN / "mlops"), "layers", "on", "feast"], check=True, capture_output=True,
                   env={**os.environ, "MLOPS_ENVS_DIR": str(envs_on)})
    mlflow_server = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    redis_proc, redis_url = _start_redis(workdir)
    targets: list[Target] = []
    try:
        model_name = register_iris_model(mlflow_server.url)
        env = {"MLFLOW_TRACKING_URI": mlflow_server.url, "MODEL_NAME": model_name, "RELOAD_SECRET_TOKEN": TOKEN,
               "MLOPS_ENV": "dev", "MLOPS_ENVS_DIR": str(envs_on)}
        for name, online in (("sqlite", ""), ("redis", redis_url)):
            _fill_store(workdir / f"state-{name}", online, mlflow_server.url, model_name)
        server = uvicorn("serving.main:create_app")
        sqlite_env = {**env, "MLOPS_STATE_DIR": str(workdir / "state-sqlite")}
        targets = [
            Target("data", "`data` rows (feast layer on)", "/predict", "/ready", data_body, server, sqlite_env),
            Target("sqlite", "`entity_ids`, SQLite online store", "/predict", "/ready", entity_body, server, sqlite_env),
            Target("redis", "`entity_ids`, Redis online store", "/predict", "/ready", entity_body, server,
                   {**env, "MLOPS_STATE_DIR": str(workdir / "state-redis"), "FEAST_ONLINE_STORE": redis_url}),
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
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        processes.stop(mlflow_server)
    return {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rounds": rounds, "seconds": seconds,
            "scenarios": [s.key for s in scenarios], "targets": summarize(targets, scenarios, results)}
