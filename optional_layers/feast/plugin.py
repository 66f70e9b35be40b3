"""Feast layer hooks: the features go through the feature store, each model version gets its
FeatureService, a deploy checks the contract, and `/predict` also takes `entity_ids`."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from fastapi import FastAPI

from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings
from optional_layers.feast import online, repository
from optional_layers.feast.store import feature_store
from optional_layers.hookspecs import LayerInfo, hookimpl

_log = logging.getLogger("mlops.feast")


@hookimpl
def mlops_layer_info() -> LayerInfo:
    return LayerInfo(
        "feast",
        "Feast feature store: point-in-time training data, online features, the feature/model contract",
        "gitops/optional/feast",
    )


@hookimpl
def mlops_feature_source(dataset: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Ingest the dataset into the offline store with its timestamps, and train on what Feast
    returns for the labels' times."""
    ingest = repository.split_dataset(dataset, settings)
    rows = repository.write_offline(settings, ingest.features)
    store = feature_store(settings)
    repository.apply(store, settings, ingest.feature_names)
    _log.info("ingested %d rows into the offline store (%d in all)", len(ingest.features), rows)
    return repository.historical(store, settings, ingest)


@hookimpl
def mlops_lifecycle_event(event: str, payload: dict[str, Any], settings: Settings) -> None:
    if event != "version_registered":
        return
    import mlflow.models  # only in the run that registered a version

    model_name, version = payload["model_name"], payload["version"]
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    signature = mlflow.models.get_model_info(f"models:/{model_name}/{version}").signature
    name = repository.register_service(feature_store(settings), model_name, version, signature.inputs.input_names())
    bounded_client(settings.mlflow_tracking_uri).set_model_version_tag(
        model_name, version, "feast.feature_service", name
    )
    _log.info("%s v%s trained with FeatureService %s", model_name, version, name)


@hookimpl
def mlops_release_check(model_name: str, version: str, settings: Settings) -> str | None:
    return repository.release_problem(feature_store(settings), model_name, version)


@hookimpl
def mlops_request_rows(
    document: dict[str, Any], model_name: str, version: str, feature_names: list[str], settings: Settings
) -> list[list[float]] | None:
    ids = online.entity_ids(document, settings.max_rows)
    if ids is None:
        return None
    return online.online_rows(feature_store(settings), settings, model_name, version, feature_names, ids)


@hookimpl
def mlops_request_rows_in_memory(
    document: dict[str, Any], model_name: str, version: str, feature_names: list[str], settings: Settings
) -> list[list[float]] | None:
    ids = online.entity_ids(document, settings.max_rows)
    if ids is None:
        return None
    return online.rows_in_memory(settings, model_name, version, feature_names, ids)


@hookimpl
def mlops_serving_startup(app: FastAPI) -> None:
    online.document_entity_form(app)


@hookimpl
def mlops_dagster_definitions(settings: Settings):
    from optional_layers.feast.definitions import feast_definitions  # Dagster only where it runs

    return feast_definitions()
