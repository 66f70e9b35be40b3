"""The churn example (numeric, categorical and boolean columns, some nullable) trained and registered
by the platform's own functions, for tests that need a named-column model."""

from __future__ import annotations

import mlflow
import pandas as pd

from core_assets.lib.data import build_features, load_dataset
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings, load_settings

ENV = "churn-pipeline"


def register_churn(tracking_uri: str, name: str, versions: int = 1, settings: Settings | None = None):
    """`versions` versions of the churn pipeline registered as `name`, A on the first: their
    numbers, and the customers without their label."""
    settings = settings or load_settings(ENV, mlflow_tracking_uri=tracking_uri)
    frame = load_dataset(settings.dataset, settings.target_column, settings.env_dir)
    features = build_features(frame, settings.target_column, settings.test_size, settings.split_seed, settings.task)
    mlflow.set_tracking_uri(tracking_uri)
    client = bounded_client(tracking_uri)
    numbers = []
    for _ in range(versions):
        trained = train_and_log(features, TrainingSpec.of(settings), "tests", tags={})
        numbers.append(str(register_version(client, name, trained.model_uri, trained.run_id).version))
    client.set_registered_model_alias(name, "A", numbers[0])
    customers: pd.DataFrame = frame.drop(columns=[settings.target_column])
    return numbers, customers
