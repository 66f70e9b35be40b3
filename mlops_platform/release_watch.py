"""Follow a release from the outside, as a user would: launch train_job, then watch the
registry and the model server until the new version is served."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings
from mlops_platform.dagster_client import DagsterClient


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
    served_after_s: float  # registration end -> the model server answers with the version

    def line(self) -> str:
        return (
            f"release v{self.version}: train {self.train_s:.1f}s, gate {self.gate_s:.1f}s, "
            f"register {self.register_s:.1f}s | served +{self.served_after_s:.1f}s after registration"
        )


def release_and_wait(dag: DagsterClient, settings: Settings, server_url: str) -> Release:
    """Launch train_job, which trains, gates, registers and releases in one run; check it is served."""
    client = bounded_client(settings.mlflow_tracking_uri)
    run_id = dag.submit("train_job")
    if dag.wait(run_id) != "SUCCESS":
        raise RuntimeError(f"train_job run {run_id} failed; see the Dagster UI")
    steps = dag.step_times(run_id)
    version = max((v.version for v in client.search_model_versions(f"name='{settings.model_name}'")), key=int)
    if client.get_model_version(settings.model_name, version).status != "READY":
        raise RuntimeError(f"v{version} was released but is not READY")
    if served_version(server_url, settings.target_alias) != version:
        raise RuntimeError(f"train_job succeeded but {settings.target_alias} does not serve v{version}")
    registered_at = steps["registered_model_version"][1]
    served_at = steps["served_alias"][1]  # the step ends once the server answers with the version

    def took(step: str) -> float:
        start, end = steps[step]
        return (end - start).total_seconds()

    return Release(
        version=version,
        train_s=took("trained_model"),
        gate_s=took("trained_model_quality_gate"),
        register_s=took("registered_model_version"),
        served_after_s=(served_at - registered_at).total_seconds(),
    )
