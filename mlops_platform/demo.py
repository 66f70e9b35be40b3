"""`mlops demo`: the one-commit flow, headless, on a throwaway platform, with timings.

Train, gate, register, READY, served (by the readiness sensor), traffic split, then an injected
deploy failure (a corrupt artifact) that the rollback sensor must undo.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import httpx

from mlops_platform import processes, traffic
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.mlflow_client import bounded_client
from mlops_platform.settings import Settings, load_settings


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 180, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(poll_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def served_version(server_url: str, alias: str) -> str | None:
    return httpx.get(f"{server_url}/models", timeout=5).json()["models"][alias]["version"]


@dataclass
class Release:
    version: str
    train_s: float
    gate_s: float
    register_s: float
    ready_after_s: float
    served_after_s: float  # registration end -> the model server answers with the version

    def line(self) -> str:
        return (
            f"release v{self.version}: train {self.train_s:.1f}s, gate {self.gate_s:.1f}s, "
            f"register {self.register_s:.1f}s | READY +{self.ready_after_s:.1f}s | "
            f"served +{self.served_after_s:.1f}s after registration"
        )


def release_and_wait(dag: DagsterClient, settings: Settings, server_url: str) -> Release:
    """Launch train_job; the readiness sensor must then get the new version served with no other step."""
    client = bounded_client(settings.mlflow_tracking_uri)
    run_id = dag.submit("train_job")
    if dag.wait(run_id) != "SUCCESS":
        raise RuntimeError(f"train_job run {run_id} failed; see the Dagster UI")
    steps = dag.step_times(run_id)
    version = max(
        (v.version for v in client.search_model_versions(f"name='{settings.model_name}'")), key=int
    )
    registered_at = steps["registered_model_version"][1]
    wait_for(f"v{version} READY", lambda: client.get_model_version(settings.model_name, version).status == "READY")
    ready_at = datetime.now(timezone.utc)
    wait_for(f"v{version} served", lambda: served_version(server_url, settings.target_alias) == version)
    served_at = datetime.now(timezone.utc)

    def took(step: str) -> float:
        start, end = steps[step]
        return (end - start).total_seconds()

    return Release(
        version=version,
        train_s=took("trained_model"),
        gate_s=took("trained_model_accuracy_gate"),
        register_s=took("registered_model_version"),
        ready_after_s=max(0.0, (ready_at - registered_at).total_seconds()),
        served_after_s=(served_at - registered_at).total_seconds(),
    )


def register_corrupt_version(settings: Settings) -> str:
    """Register a version whose model file is garbage: its deploy must fail and be rolled back."""
    import mlflow

    from core_assets.lib.data import build_features
    from core_assets.lib.registry import register_version
    from core_assets.lib.training import train_and_log

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = bounded_client(settings.mlflow_tracking_uri)
    features = build_features(None, "target", settings.test_size, settings.split_seed)
    trained = train_and_log(features, "sklearn.tree.DecisionTreeClassifier", {}, "fault-injection", {})
    version = str(register_version(client, settings.model_name, trained.model_uri, trained.run_id).version)
    uri = client.get_model_version_download_uri(settings.model_name, version)
    for model_file in processes.mlflow_artifact_path(settings.state_dir, uri).glob("model.*"):
        model_file.write_bytes(b"\x00 corrupt on purpose")
    return version


@dataclass
class DemoReport:
    lines: list[str] = field(default_factory=list)
    serve_times: list[float] = field(default_factory=list)
    rolled_back: bool = False

    def add(self, line: str) -> None:
        self.lines.append(line)
        print(f"  {line}", flush=True)

    def summary(self) -> str:
        median = statistics.median(self.serve_times)
        samples = ", ".join(f"{t:.1f}s" for t in self.serve_times)
        return f"registration -> serving: median {median:.1f}s over {len(self.serve_times)} releases ({samples})"


def run_demo(state_dir: Path, releases: int = 3) -> DemoReport:
    from mlops_platform.cli import start_platform, stop_platform

    settings = load_settings(
        "dev",
        mlops_state_dir=state_dir,
        mlflow_port=processes.free_port(),
        serving_port=processes.free_port(),
        dagster_port=processes.free_port(),
    )
    settings = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{settings.mlflow_port}"})
    server_url = f"http://127.0.0.1:{settings.serving_port}"
    report = DemoReport()
    print(f"mlops demo: a throwaway platform in {state_dir}", flush=True)
    services = start_platform(settings)
    try:
        dag = DagsterClient(settings.dagster_port)
        client = bounded_client(settings.mlflow_tracking_uri)
        for i in range(releases):
            release = release_and_wait(dag, settings, server_url)
            report.serve_times.append(release.served_after_s)
            report.add(release.line())
            if i == 0:
                started = time.monotonic()
                dag.wait(dag.submit("promote_job"))
                wait_for("A served", lambda: served_version(server_url, "A") == release.version)
                report.add(f"promote: champion A = v{release.version} ({time.monotonic() - started:.1f}s)")
        for line in traffic.report(server_url, 1000).splitlines():
            report.add(f"traffic | {line}")

        before = served_version(server_url, "B")
        corrupt = register_corrupt_version(settings)
        started = time.monotonic()
        failed_run = dag.submit("deploy_job", {"ops": {"served_alias": {"config": {"version": corrupt}}}})
        status = dag.wait(failed_run)
        report.add(f"injected failure: deploy of v{corrupt} (corrupt artifact) ended {status} "
                   f"after {time.monotonic() - started:.1f}s; server still serves B=v{served_version(server_url, 'B')}")
        wait_for("the rollback run", lambda: any(
            {"key": "mlops/failed_run", "value": failed_run} in r["tags"] and r["status"] == "SUCCESS"
            for r in dag.runs("rollback_job")
        ))
        alias_b = client.get_registered_model(settings.model_name).aliases.get("B")
        serving_b = served_version(server_url, "B")
        report.rolled_back = alias_b == before and serving_b == before
        report.add(f"rolled back after {time.monotonic() - started:.1f}s: registry B=v{alias_b}, "
                   f"server B=v{serving_b} (before the failed deploy: v{before})")
        report.add(report.summary())
    finally:
        stop_platform(services)
    return report
