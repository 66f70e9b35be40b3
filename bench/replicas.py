"""Serving scaled out: three model-server replicas behind HAProxy (Debian's), on this machine.

- release -> served on all replicas: a version is registered, then the code location's deploy_job
  (in-process, as a sensor's run would) moves the alias and reloads and verifies every replica;
  timed from the end of the registration until every replica's /models names the version;
- alias moved by hand -> all replicas: the plain MLflow client moves the alias; no push, each
  replica's own watch (ALIAS_POLL_SECONDS, default 2) finds it; timed until all three serve it;
- predict throughput (1 row, 32 connections, wrk on core 1): one replica directly, HAProxy in
  front of one replica, HAProxy in front of three. The replicas and HAProxy are not pinned: on a
  2-core machine three replicas share the cores wrk leaves them (reported, not tuned to).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
from dagster import DagsterInstance

from bench import load
from bench.models import register_iris_model
from bench.releases import percentiles
from bench.targets import TOKEN, uvicorn
from core_assets.definitions import build_definitions
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import load_settings
from mlops_platform import balancer, processes

BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2]]}'
REPLICAS = 3


def _start_replica(workdir: Path, tracking_uri: str, model: str) -> processes.Service:
    port = processes.free_port()
    env = {"MLFLOW_TRACKING_URI": tracking_uri, "MODEL_NAME": model, "RELOAD_SECRET_TOKEN": TOKEN, "MLOPS_ENV": "dev"}
    command = uvicorn("serving.main:create_app")(port)
    return processes.start_ready(
        "serving", command, workdir / f"serving-{port}.log", f"http://127.0.0.1:{port}", "/ready", env
    )


def _all_serve(replicas: list[processes.Service], version: str) -> bool:
    return all(httpx.get(f"{r.url}/models", timeout=10).json()["models"]["B"]["version"] == version for r in replicas)


def _wait_all(replicas: list[processes.Service], version: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not _all_serve(replicas, version):
        if time.monotonic() > deadline:
            raise TimeoutError(f"replicas did not all serve v{version} within {timeout_s} s")
        time.sleep(0.05)


def _throughput(url: str, leaders: tuple[int, ...], rounds: int, seconds: int) -> dict:
    measured = [load.run_wrk(url, BODY, 32, seconds, leaders) for _ in range(rounds)]
    median = sorted(measured, key=lambda r: r.rps)[len(measured) // 2]
    return {
        "rps": median.rps,
        "p50_ms": median.p50_ms,
        "p99_ms": median.p99_ms,
        "cpu_ms_per_request": median.cpu_ms_per_request,
        "failed": sum(r.failed for r in measured),
    }


def run(workdir: Path, releases: int = 10, rounds: int = 3, seconds: int = 5) -> dict:
    load.require_wrk()
    if why := balancer.unavailable():
        raise SystemExit(why)
    services: list[processes.Service] = []
    try:
        mlflow = processes.start_mlflow(workdir / "mlflow", processes.free_port())
        services.append(mlflow)
        model = register_iris_model(mlflow.url)
        replicas = [_start_replica(workdir, mlflow.url, model) for _ in range(REPLICAS)]
        services += replicas
        urls = [r.url for r in replicas]
        settings = load_settings(
            "dev",
            mlflow_tracking_uri=mlflow.url,
            model_name=model,
            mlops_state_dir=workdir / "state",
            serving_replica_urls=",".join(urls),
            reload_secret_token=TOKEN,
        )
        deploy = build_definitions(settings).resolve_job_def("deploy_job")
        client = bounded_client(mlflow.url)
        released, by_hand = [], []
        with DagsterInstance.ephemeral() as instance:
            for _ in range(releases):
                version = register_iris_model(mlflow.url, name=model)
                registered = time.monotonic()
                config = {"ops": {"served_alias": {"config": {"alias": "B", "version": version}}}}
                assert deploy.execute_in_process(run_config=config, instance=instance).success
                _wait_all(replicas, version)
                released.append(time.monotonic() - registered)
                print(f"  release v{version}: on all {REPLICAS} replicas {released[-1]:.2f} s after registration")
        for _ in range(releases):
            version = register_iris_model(mlflow.url, name=model)
            moved = time.monotonic()
            client.set_registered_model_alias(model, "B", version)
            _wait_all(replicas, version)
            by_hand.append(time.monotonic() - moved)
            print(f"  alias moved by hand to v{version}: on all {REPLICAS} replicas after {by_hand[-1]:.2f} s")
        one = balancer.start(workdir, processes.free_port(), urls[:1])
        three = balancer.start(workdir, processes.free_port(), urls)
        services += [one, three]
        time.sleep(1)  # the balancers' first health checks
        pids = tuple(r.process.pid for r in replicas)
        throughput = {
            "direct_1": _throughput(f"{urls[0]}/predict", (pids[0],), rounds, seconds),
            "balanced_1": _throughput(f"{one.url}/predict", (pids[0], one.process.pid), rounds, seconds),
            "balanced_3": _throughput(f"{three.url}/predict", (*pids, three.process.pid), rounds, seconds),
        }
    finally:
        for service in reversed(services):
            processes.stop(service)
    return {
        "replicas": REPLICAS,
        "poll_s": settings.alias_poll_seconds,
        "release_to_all_replicas": percentiles(released),
        "alias_by_hand_to_all_replicas": percentiles(by_hand),
        "by_hand_mean_s": statistics.mean(by_hand),
        "throughput": throughput,
        "rounds": rounds,
        "seconds": seconds,
    }
