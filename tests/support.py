"""Helpers shared by the tests: real servers started by PID, real registered models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from core_assets.lib.data import build_features
from core_assets.lib.registry import register_version
from core_assets.lib.training import train_and_log
from mlops_base.settings import Settings, load_settings
from mlops_platform import processes

TOKEN = "test-reload-token-0123456789"
TRITON_KEY = "test-admin-key-0123456789"  # the Triton repository API's admin key in tests
ROW = [5.1, 3.5, 1.4, 0.2]


start_mlflow = processes.start_mlflow


@dataclass
class RegisteredModel:
    name: str
    versions: list[str]
    run_ids: list[str]


def register_model(tracking_uri: str, n_versions: int = 2) -> RegisteredModel:
    """Train and register `n_versions` distinct models; A -> v1, B -> the last."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    name = f"serving-{uuid.uuid4().hex[:8]}"
    features = build_features(None, "target", 0.25, 42)
    versions, run_ids = [], []
    for i in range(n_versions):
        estimator, params = (
            ("sklearn.linear_model.LogisticRegression", {"C": 1.0, "max_iter": 500})
            if i % 2 == 0
            else ("sklearn.tree.DecisionTreeClassifier", {"max_depth": 1, "random_state": 0})
        )
        result = train_and_log(features, estimator, params, "serving-tests", tags={})
        versions.append(str(register_version(client, name, result.model_uri, result.run_id).version))
        run_ids.append(result.run_id)
    client.set_registered_model_alias(name, "A", versions[0])
    client.set_registered_model_alias(name, "B", versions[-1])
    return RegisteredModel(name, versions, run_ids)


def serving_settings(tracking_uri: str, model: RegisteredModel, **overrides) -> Settings:
    return load_settings(
        "dev", **{"mlflow_tracking_uri": tracking_uri, "model_name": model.name, "reload_secret_token": TOKEN,
                  **overrides},
    )


def start_server(tmp_path: Path, env: dict[str, str]) -> processes.Service:
    """A real uvicorn model server with the tests' token; stop it with processes.stop."""
    return processes.start_model_server(tmp_path, {"RELOAD_SECRET_TOKEN": TOKEN, "MLOPS_ENV": "dev", **env})
