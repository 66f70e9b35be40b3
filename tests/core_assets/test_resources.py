"""The registry resource fails fast against a dead registry instead of retrying for minutes."""

from __future__ import annotations

import time

import pytest
from mlflow.exceptions import MlflowException

from core_assets.resources import MlflowRegistry
from mlops_platform.processes import free_port


def test_dead_registry_fails_within_seconds():
    registry = MlflowRegistry(tracking_uri=f"http://127.0.0.1:{free_port()}", model_name="m", experiment="e")
    started = time.monotonic()
    with pytest.raises(MlflowException):
        registry.client().get_registered_model("m")
    # MLflow's defaults (7 retries, back-off factor 2) would take minutes here
    assert time.monotonic() - started < 30


def test_links_point_at_the_mlflow_ui():
    registry = MlflowRegistry(tracking_uri="http://127.0.0.1:5000/", model_name="iris", experiment="e")
    assert registry.run_url("3", "abc") == "http://127.0.0.1:5000/#/experiments/3/runs/abc"
    assert registry.model_url("2") == "http://127.0.0.1:5000/#/models/iris/versions/2"
