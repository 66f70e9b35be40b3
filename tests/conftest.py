"""Shared fixtures: one real `mlflow server` per session, a fresh model name per test."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from mlops_platform import processes
from mlops_base.settings import Settings, load_settings
from tests.support import RegisteredModel, register_model, start_mlflow

os.environ.update(processes.QUIET_ENV)


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


@pytest.fixture(scope="session")
def shared_model(mlflow_server) -> RegisteredModel:
    """Read-only for tests: A = v1 (logistic regression), B = v2 (a depth-1 tree that disagrees)."""
    return register_model(mlflow_server)


@pytest.fixture
def fresh_model(mlflow_server) -> RegisteredModel:
    """A model of this test's own, free to move aliases on."""
    return register_model(mlflow_server)
