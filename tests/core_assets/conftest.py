from __future__ import annotations

import pytest
from dagster import DagsterInstance, Definitions
from mlflow import MlflowClient

from core_assets.definitions import build_definitions
from mlops_base.settings import Settings
from mlops_platform import processes
from tests.core_assets.runs import release
from tests.support import start_server


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


@pytest.fixture
def serving(settings, tmp_path, defs, instance):
    """A real uvicorn model server for this test's model, started after a first release exists."""
    release(defs, instance)
    service = start_server(
        tmp_path, {"MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri, "MODEL_NAME": settings.model_name}
    )
    try:
        yield service
    finally:
        processes.stop(service)
