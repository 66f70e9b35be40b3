"""The monitoring layer's real components: the env tree with the layer on, a Prometheus, and a
platform with a daemon around them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus

from core_assets.definitions import build_definitions
from mlops_base.settings import REPO_ROOT, Settings
from mlops_platform import alerting, balancer, processes
from mlops_platform.release_watch import wait_for
from mlops_platform.stack import dagster_home
from tests.core_assets.runs import run_job
from tests.support import start_daemon, start_server, wired_to


@pytest.fixture
def envs_with_monitoring(tmp_path):
    """A copy of the env tree with the monitoring layer on, toggled by the real toggle script."""
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    env = {"MLOPS_ENVS_DIR": str(envs)}
    subprocess.run(
        [str(Path(sys.executable).parent / "mlops"), "layers", "on", "monitoring"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    assert yaml.safe_load((envs / "dev" / "layers.yaml").read_text()) == {
        "attached": True,
        "layers": {"drift": False, "evaluation": False, "feast": False, "logging": False, "monitoring": True},
    }
    return env


def start_prometheus(tmp_path: Path, server_url: str, pushgateway_url: str | None = None) -> processes.Service:
    """The launcher's Prometheus (Debian `prometheus`, the layer's rules), scraping the model server
    (and the Pushgateway, keeping the runs' own labels) every second; no Alertmanager."""
    targets = {"serving": [server_url], **({"pushgateway": [pushgateway_url]} if pushgateway_url else {})}
    return alerting.start_prometheus(tmp_path, targets, None, "1s")


@dataclass
class DaemonPlatform:
    """Real model servers (`server`: the one, or HAProxy in front of the `replicas`), Prometheus
    scraping each, this process's settings wired to them and the Dagster instance a daemon would
    use; `release`, `traffic` and `daemon` start the rest."""

    server: processes.Service
    replicas: list[processes.Service]
    prometheus: processes.Service
    settings: Settings
    instance: DagsterInstance
    tmp_path: Path
    server_env: dict[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    daemon_service: processes.Service | None = None

    def restart_replica(self, i: int) -> None:
        """Replica `i` stopped and started again on its port, answering (HAProxy sends it requests
        again once its /ready does)."""
        replica = self.replicas[i]
        processes.stop(replica)
        self.replicas[i] = start_server(self.tmp_path, self.server_env, port=urlparse(replica.url).port)

    def release(self, version: str, reason: str) -> None:
        """`version` on B through `deploy_job`, recorded in the instance the daemon reads."""
        release = {"ops": {"served_alias": {"config": {"version": version, "reason": reason}}}}
        assert run_job(build_definitions(self.settings), self.instance, "deploy_job", release).success

    def traffic(self, path: str, rows: Sequence[list], clients: int = 1) -> None:
        """`rows` to `path`, one a request, over and over, from `clients` threads until the platform stops."""
        for _ in range(clients):
            threading.Thread(target=self._send, args=(path, rows), daemon=True).start()

    def _send(self, path: str, rows: Sequence[list]) -> None:
        with httpx.Client(base_url=self.server.url, timeout=10) as client:
            while not self.stop.is_set():
                for row in rows:
                    try:
                        client.post(path, json={"data": [row]})
                    except httpx.TransportError:  # a replica restarting under the balancer, or the end
                        if self.stop.is_set():
                            return
                        time.sleep(0.1)

    def daemon(self, env: dict[str, str]) -> None:
        replicas = (
            {"SERVING_REPLICA_URLS": self.settings.serving_replica_urls} if self.settings.serving_replica_urls else {}
        )
        self.daemon_service = start_daemon(
            self.settings, self.tmp_path, {**env, **replicas, "PROMETHEUS_URL": self.prometheus.url}
        )

    def finished(self, run_id: str) -> None:
        """Wait for the run and require its success."""
        wait_for("the run to finish", lambda: self.instance.get_run_by_id(run_id).is_finished)
        assert self.instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS


@contextmanager
def daemon_platform(settings: Settings, model_name: str, tmp_path: Path, server_env: dict[str, str], replicas: int = 1):
    """A `DaemonPlatform` for `model_name`, on one server or on `replicas` behind HAProxy (the
    balancer of `./mlops up --replicas`); its traffic, daemon and servers stopped at the end."""
    env = {"MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri, "MODEL_NAME": model_name, **server_env}
    served: list[processes.Service] = []
    others: list[processes.Service] = []  # the balancer, Prometheus
    platform = None
    try:
        with ThreadPoolExecutor(replicas) as starting:  # each loads both aliases: side by side
            started = [starting.submit(start_server, tmp_path, env) for _ in range(replicas)]
        served += [future.result() for future in started if future.exception() is None]
        for future in started:
            future.result()  # the first that failed raises, once every one that started is kept
        if replicas > 1:
            others.append(balancer.start(tmp_path, processes.free_port(), [r.url for r in served]))
        front = others[-1] if others else served[0]
        prometheus = alerting.start_prometheus(tmp_path, {"serving": [r.url for r in served]}, None, "1s")
        others.append(prometheus)
        urls = ",".join(r.url for r in served) if replicas > 1 else ""  # each replica a release reaches
        wired = wired_to(
            settings.model_copy(update={"model_name": model_name, "serving_replica_urls": urls}), front.url
        )
        with DagsterInstance.from_config(str(dagster_home(wired))) as instance:
            platform = DaemonPlatform(front, served, prometheus, wired, instance, tmp_path, env)
            yield platform
    finally:
        if platform is not None:
            platform.stop.set()
            if platform.daemon_service is not None:
                processes.stop(platform.daemon_service)
        for service in [*reversed(others), *served]:  # `served`: the replicas as they are now
            processes.stop(service)
