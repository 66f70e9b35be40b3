"""Serving scaled out, for real: an MLflow server of this module's own (it is stopped and restarted),
three uvicorn replicas behind HAProxy (Debian's), releases run as Dagster runs of the code location,
and clients posting through the balancer all along. The replicas carry state from test to test (the
aliases move on); each test releases versions of its own.

A replica SIGKILLed mid-answer drops that answer with its connection: the balancer retries requests
the dead replica had not begun to answer, not those (at most one per client in flight)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
import pytest
from dagster import DagsterInstance
from mlflow import MlflowClient

from core_assets.definitions import build_definitions
from core_assets.release.registry import register_version
from mlops_base.settings import Settings, load_settings
from mlops_platform import balancer, processes
from tests.core_assets.runs import run_job
from tests.core_assets.test_sensors import _failure_context, rollback_sensor
from tests.e2e.refusing_replica import REFUSED_TAG
from tests.support import TOKEN, Hammer, RegisteredModel, register_model, start_model_server

pytestmark = [pytest.mark.real, pytest.mark.slow]  # three replicas behind HAProxy, killed and starved

# how long a wait for every replica to converge may take before the test gives up: a deadline, not a
# claim about speed (`./mlops bench` measures how fast a release reaches the replicas)
CONVERGE_S = 60.0
NO_COMPUTE_LOGS = {"module": "dagster.core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}


@dataclass
class Platform:
    mlflow: processes.Service
    mlflow_state: Path
    model: RegisteredModel
    replicas: list[processes.Service]
    balancer: processes.Service
    settings: Settings
    instance: DagsterInstance
    log_dir: Path

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.mlflow.url)

    def served(self, alias: str = "B") -> list[str | None]:
        return [httpx.get(f"{r.url}/models", timeout=10).json()["models"][alias]["version"] for r in self.replicas]

    def new_version(self, **tags: str) -> str:
        """A new version of the model (v1's artifacts, registered again), READY."""
        mlflow.set_tracking_uri(self.mlflow.url)
        first = self.client.get_model_version(self.model.name, self.model.versions[0])
        version = str(register_version(self.client, self.model.name, first.source, first.run_id).version)
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model.name, version, key, value)
        return version

    def release(self, version: str, job: str = "deploy_job"):
        config = {"ops": {"served_alias": {"config": {"alias": "B", "version": version}}}}
        return run_job(build_definitions(self.settings), self.instance, job, config)

    def start_replica(self, port: int, refusing: bool = False) -> processes.Service:
        env = {
            "MLOPS_ENV": "dev",
            "MLFLOW_TRACKING_URI": self.mlflow.url,
            "MODEL_NAME": self.model.name,
            "RELOAD_SECRET_TOKEN": TOKEN,
            "REPLICA_PORT": str(port),
        }
        return start_model_server(
            self.log_dir, env, port, factory="tests.e2e.refusing_replica:create_app" if refusing else None
        )

    def wait_all(self, version: str, timeout_s: float, alias: str = "B") -> float:
        """Seconds until every replica serves `version`."""
        started = time.monotonic()
        while self.served(alias) != [version] * len(self.replicas):
            assert time.monotonic() - started < timeout_s, f"replicas serve {self.served(alias)}, not v{version}"
            time.sleep(0.1)
        return time.monotonic() - started


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    if why := balancer.unavailable():
        pytest.skip(why)
    root = tmp_path_factory.mktemp("replicas")
    mlflow_port = processes.free_port()
    services: list[processes.Service] = []
    try:
        services.append(processes.start_mlflow(root / "mlflow", mlflow_port))
        model = register_model(services[0].url, n_versions=2)
        (root / "dagster").mkdir()
        # no compute-log capture: its `tail -F` helpers can outlive a run launched from a thread
        overrides = {"telemetry": {"enabled": False}, "compute_logs": NO_COMPUTE_LOGS}
        with DagsterInstance.local_temp(str(root / "dagster"), overrides=overrides) as inst:
            ports = [processes.free_port() for _ in range(3)]
            platform = Platform(services[0], root / "mlflow", model, [], None, None, inst, root)  # type: ignore[arg-type]
            with ThreadPoolExecutor(3) as pool:  # the third cannot load versions tagged for it
                starts = [pool.submit(platform.start_replica, port, i == 2) for i, port in enumerate(ports)]
                for start in starts:
                    platform.replicas.append(start.result())
                    services.append(platform.replicas[-1])
            urls = [r.url for r in platform.replicas]
            platform.balancer = balancer.start(root, processes.free_port(), urls)
            services.append(platform.balancer)
            platform.settings = load_settings(
                "dev",
                mlflow_tracking_uri=platform.mlflow.url,
                model_name=model.name,
                mlops_state_dir=root / "state",
                serving_url=platform.balancer.url,
                serving_replica_urls=",".join(urls),
                reload_secret_token=TOKEN,
            )
            yield platform
            services = [platform.mlflow, *platform.replicas, platform.balancer]  # restarted ones included
    finally:
        for service in reversed(services):
            processes.stop(service)


def test_a_release_reaches_all_three_replicas_verified_by_the_check_with_no_failed_request(platform):
    version = platform.new_version()
    with Hammer(platform.balancer.url, paths=("/predict",)) as hammer:
        time.sleep(0.5)
        released = platform.release(version)
        time.sleep(0.5)

    assert released.success
    [check] = [c for c in released.get_asset_check_evaluations() if c.check_name == "serving_matches_alias"]
    assert check.passed and check.description == f"all 3 replica(s) serve B=v{version}"
    assert sorted(check.metadata["replicas"].value) == sorted(r.url for r in platform.replicas)
    assert platform.served() == [version] * 3
    assert hammer.failed() == 0 and sum(hammer.outcomes.values()) > 50, hammer.outcomes


def test_a_replica_killed_during_a_release_and_restarted_serves_the_new_version(platform):
    version = platform.new_version()
    victim = platform.replicas[1]
    with Hammer(platform.balancer.url, paths=("/predict",)) as hammer:
        release = threading.Thread(target=platform.release, args=(version,))
        release.start()
        time.sleep(0.3)
        victim.process.kill()  # SIGKILL: no clean shutdown
        release.join()
        time.sleep(1)  # the balancer's health check has taken the dead replica out
    processes.stop(victim)
    platform.replicas[1] = platform.start_replica(int(victim.url.rsplit(":", 1)[1]))
    platform.wait_all(version, timeout_s=CONVERGE_S)

    assert platform.served() == [version] * 3
    # the balancer retries what the dead replica dropped before answering; an answer it had begun to
    # stream when SIGKILL came is lost with the connection: at most one per client in flight
    assert hammer.failed() <= 4, hammer.outcomes
    print(f"\nreplica SIGKILLed under load: {hammer.failed()} of {sum(hammer.outcomes.values())} requests lost")


def test_an_alias_moved_by_hand_in_mlflow_reaches_every_replica_by_their_own_polling(platform):
    version = platform.new_version()

    platform.client.set_registered_model_alias(platform.model.name, "B", version)

    took = platform.wait_all(version, timeout_s=CONVERGE_S)
    print(f"\nalias moved by hand -> all 3 replicas: {took:.2f} s")


def test_the_registry_down_for_30_s_leaves_every_replica_serving_then_they_converge(platform):
    before = platform.served()
    with Hammer(platform.balancer.url, paths=("/predict",)) as hammer:
        processes.stop(platform.mlflow)
        time.sleep(30)
        health = [httpx.get(f"{r.url}/health", timeout=10).json() for r in platform.replicas]
        watches = [httpx.get(f"{r.url}/models", timeout=10).json()["alias_watch"] for r in platform.replicas]
        assert all(w["failed_calls"] >= 2 for w in watches), watches
        assert all(sorted(h["loaded_variants"]) == ["A", "B"] for h in health)
        assert platform.served() == before
        platform.mlflow = processes.start_mlflow(platform.mlflow_state, int(platform.mlflow.url.rsplit(":", 1)[1]))
        version = platform.new_version()
        platform.client.set_registered_model_alias(platform.model.name, "B", version)
        took = platform.wait_all(version, timeout_s=CONVERGE_S)

    assert hammer.failed() == 0 and sum(hammer.outcomes.values()) > 100, hammer.outcomes
    print(f"\nregistry back, alias moved -> all 3 replicas: {took:.2f} s")


def test_a_version_one_replica_cannot_load_fails_the_release_naming_it_and_the_rollback_restores_all(platform):
    good = platform.served()[0]
    refusing = platform.replicas[2]
    bad = platform.new_version(**{REFUSED_TAG: refusing.url.rsplit(":", 1)[1]})

    failed = platform.release(bad)

    assert not failed.success
    [check] = [c for c in failed.get_asset_check_evaluations() if c.check_name == "serving_matches_alias"]
    assert f"1 of 3 replica(s) do not serve B=v{bad}: {refusing.url}: " in check.description
    assert "cannot load on this replica" in check.description
    request = rollback_sensor(_failure_context(platform.instance, failed, platform.settings).for_run_failure())
    assert request.run_config["ops"]["served_alias"]["config"]["version"] == good
    rolled_back = run_job(build_definitions(platform.settings), platform.instance, "rollback_job", request.run_config)
    assert rolled_back.success
    assert platform.served() == [good] * 3
