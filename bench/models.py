"""The model the benchmarks serve: iris, trained and registered with the platform's own functions."""

from __future__ import annotations

import uuid

import mlflow

from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.mlflow_client import bounded_client


def register_iris_model(tracking_uri: str, name: str | None = None) -> str:
    """A fresh registered model with a logistic regression on both aliases; returns its name.

    With `name`: a new version of that model, aliases untouched; returns the version.
    """
    mlflow.set_tracking_uri(tracking_uri)
    client = bounded_client(tracking_uri)
    existing = name is not None
    name = name or f"bench-{uuid.uuid4().hex[:8]}"
    features = builtin_features()
    trained = train_and_log(
        features,
        TrainingSpec(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 500}),
        "bench",
        tags={},
    )
    version = str(register_version(client, name, trained.model_uri, trained.run_id).version)
    if existing:
        return version
    for alias in ("A", "B"):
        client.set_registered_model_alias(name, alias, version)
    return name
