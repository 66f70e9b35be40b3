"""Shared fixtures: one real `mlflow server` per session, a fresh model name per test."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from mlops_platform import processes
from mlops_platform.settings import Settings, load_settings

os.environ.update(processes.QUIET_ENV)


def start_mlflow(state: Path, port: int) -> processes.Service:
    """A real MLflow server (SQLite backend, proxied local artifacts) on a loopback port."""
    service = processes.start(
        "mlflow", processes.mlflow_server_command(state, port), state / f"mlflow-{port}.log",
        f"http://127.0.0.1:{port}", processes.MLFLOW_SERVER_ENV,
    )
    try:
        processes.wait_ready(service, "/health", timeout_s=120)
    except BaseException:
        processes.stop(service)
        raise
    return service


@pytest.fixture(scope="session")
def mlflow_state(tmp_path_factory) -> Path:
    """Where the session's MLflow server keeps its database and artifacts."""
    return tmp_path_factory.mktemp("mlflow-state")


@pytest.fixture(scope="session")
def mlflow_server(mlflow_state: Path) -> str:
    service = start_mlflow(mlflow_state, processes.free_port())
    try:
        yield service.url
    finally:
        processes.stop(service)


@pytest.fixture
def settings(mlflow_server: str, tmp_path: Path) -> Settings:
    """Dev settings pointed at the test server, with a model name of this test's own."""
    return load_settings(
        "dev",
        mlflow_tracking_uri=mlflow_server,
        model_name=f"test-model-{uuid.uuid4().hex[:8]}",
        mlflow_experiment="tests",
        mlops_state_dir=tmp_path / "state",
        serving_url="",
    )
