"""The drift layer on the real model server: answered predictions reach each version's tests
without a change to any route; `GET /drift` needs the reload credential and tells per served
version what drifted; the monitoring layer's /metrics carries the gauges the alert rule reads."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from layer_api.manager import LayerManager
from mlops_base.reference_profile import PROFILE_TAG, build_profile
from mlops_base.registry_rest import ArtifactMismatch
from optional_layers.drift.plugin import DriftLayer
from optional_layers.drift.serving import registry_reference
from serving.main import create_app
from tests.fakes import FEATURES, FakeRegistry, fake_settings
from tests.support import TOKEN, serving_client

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _reference(rows: np.ndarray) -> dict:
    frame = pd.DataFrame(rows, columns=FEATURES)
    return build_profile(frame, dict.fromkeys(FEATURES, "number"), rows.sum(axis=1), "number")  # SumModel's


def _drift(client, until) -> dict:
    deadline = time.monotonic() + 30
    while True:
        state = client.get("/drift", headers=AUTH).json()
        if until(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_answered_predictions_are_tested_per_version_and_shown_on_drift_and_metrics():
    rng = np.random.default_rng(0)
    settings = fake_settings()
    fetched: list[tuple[str, str]] = []

    def fetch(model: str, version: str):
        fetched.append((model, version))
        return _reference(rng.normal(size=(5_000, 4))) if version == "1" else None

    layers = LayerManager(settings, {"monitoring", "drift"})  # the layers as the env's layers.yaml turns them on
    drift: DriftLayer = layers.pm.get_plugin("drift")
    drift.fetch_reference = fetch  # the fake registry has no runs: the references come from here
    registry = FakeRegistry()
    with serving_client(create_app(settings, layers, registry, registry.new_runtime)) as client:
        assert client.get("/drift").status_code == 401
        assert client.get("/drift", headers={"Authorization": "Bearer wrong"}).status_code == 401
        for _ in range(10):
            for alias in ("A", "B"):
                answer = client.post(f"/variant/{alias}/predict", json={"data": rng.normal(size=(100, 4)).tolist()})
                assert answer.status_code == 200, answer.text
        counted = lambda s: {v["version"]: v["status"] != "no traffic" and v["rows"] for v in s["versions"]}  # noqa: E731
        state = _drift(client, lambda s: counted(s) == {"1": 1_000, "2": 0} or counted(s) == {"1": 1_000, "2": True})
        versions = {v["version"]: v for v in state["versions"]}
        assert versions["1"]["aliases"] == ["A"] and versions["1"]["status"] == "watching"
        assert versions["1"]["rows"] == 1_000 and versions["1"]["drifted"] == []
        assert versions["2"]["status"] == "no reference"
        assert sorted(fetched) == [("fake-model", "1"), ("fake-model", "2")]

        shifted = rng.normal(size=(2_000, 4)) + [0.0, 0.0, 1.0, 0.0]  # a third column moved by 1 sd
        for part in np.split(shifted, 20):
            assert client.post("/variant/A/predict", json={"data": part.tolist()}).status_code == 200
        state = _drift(client, lambda s: any(v["status"] == "drift" for v in s["versions"]))
        version = next(v for v in state["versions"] if v["version"] == "1")
        assert version["status"] == "drift" and FEATURES[2] in version["drifted"]
        assert FEATURES[0] not in version["drifted"]

        metrics = client.get("/metrics").text
    assert f'mlops_drift_detected{{column="{FEATURES[2]}",version="1"}} 1.0' in metrics
    assert f'mlops_drift_detected{{column="{FEATURES[0]}",version="1"}} 0.0' in metrics
    assert 'mlops_drift_threshold{column="prediction",version="1"}' in metrics


@pytest.mark.real  # a real MLflow server
def test_the_reference_is_read_from_the_registry_and_checked_against_the_versions_digest(mlflow_server, fresh_model):
    fetch, client = registry_reference(mlflow_server), MlflowClient(mlflow_server)
    name, (first, second) = fresh_model.name, fresh_model.versions
    profile = fetch(name, first)
    assert sorted(profile["columns"]) == sorted(_signature_columns(client, name, first))
    client.delete_model_version_tag(name, first, PROFILE_TAG)  # as a version trained before drift
    assert fetch(name, first) is None
    client.set_model_version_tag(name, second, PROFILE_TAG, "0" * 64)
    with pytest.raises(ArtifactMismatch):  # the monitor says "reference unavailable"
        fetch(name, second)


def _signature_columns(client: MlflowClient, name: str, version: str) -> list[str]:
    """The input columns of the version's logged signature."""
    from mlflow.models import get_model_info

    return get_model_info(f"models:/{name}/{version}").signature.inputs.input_names()
