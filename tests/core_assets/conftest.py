from __future__ import annotations

import pytest
from dagster import DagsterInstance, Definitions
from mlflow import MlflowClient

from core_assets.definitions import build_definitions
from mlops_base.settings import Settings


@pytest.fixture
def instance(tmp_path):
    """A persistent (temp-dir) instance, so runs share stored asset values like under `dagster dev`."""
    (tmp_path / "dagster").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "dagster"), overrides={"telemetry": {"enabled": False}}) as inst:
        yield inst


@pytest.fixture
def defs(settings: Settings) -> Definitions:
    return build_definitions(settings)


@pytest.fixture
def client(settings: Settings) -> MlflowClient:
    return MlflowClient(settings.mlflow_tracking_uri)
