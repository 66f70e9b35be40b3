"""Feast layer hooks: the features go through the feature store, each model version gets its
FeatureService, a deploy checks the contract, and `/predict` also takes `entity_ids`."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from fastapi import FastAPI
from feast import FeatureStore

from layer_api import LayerInfo, hookimpl
from layer_api.events import LifecycleEvent
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings
from optional_layers.feast import online, repository
from optional_layers.feast.online import OnlineRows
from optional_layers.feast.settings import FeastSettings
from optional_layers.feast.store import feature_store

_log = logging.getLogger("mlops.feast")


def _input_names(client, tracking_uri: str, model_name: str, version: str) -> list[str]:
    """The input columns of a registered version's signature, read from its MLmodel file (in the
    run that registered it; no global tracking URI is set)."""
    import tempfile

    from mlflow.artifacts import download_artifacts
    from mlflow.models import Model

    source = client.get_model_version_download_uri(model_name, version).rstrip("/")
    with tempfile.TemporaryDirectory() as folder:
        path = download_artifacts(artifact_uri=f"{source}/MLmodel", dst_path=folder, tracking_uri=tracking_uri)
        return Model.load(path).signature.inputs.input_names()


class FeastLayer:
    """The feature store of the env, built at first use and kept (its registry is read once)."""

    SETTINGS = FeastSettings  # its settings class (the settings reference lists it)

    def __init__(self, settings: Settings):
        self.settings = settings
        feast = FeastSettings.of(settings)
        self._store: FeatureStore | None = None
        self.online = OnlineRows(self.store, feast.feast_entity_key, feast.feast_online_cache_seconds)

    def store(self) -> FeatureStore:
        if self._store is None:
            self._store = feature_store(self.settings)
        return self._store

    @hookimpl
    def mlops_layer_info(self) -> LayerInfo:
        return LayerInfo(
            "feast",
            "Feast feature store: point-in-time training data, online features, the feature/model contract",
            "gitops/optional/feast",
        )

    @hookimpl
    def mlops_feature_source(self, dataset: pd.DataFrame) -> pd.DataFrame:
        """Ingest the dataset into the offline store with its timestamps, and train on what Feast
        returns for the labels' times."""
        settings = self.settings
        ingest = repository.split_dataset(dataset, settings)
        rows = repository.write_offline(settings, ingest.features)
        store = self.store()
        repository.apply(store, settings, ingest.feature_names)
        _log.info("ingested %d rows into the offline store (%d in all)", len(ingest.features), rows)
        return repository.historical(store, settings, ingest)

    @hookimpl
    def mlops_lifecycle_event(self, event: LifecycleEvent, payload: dict[str, Any]) -> None:
        if event != "version_registered":
            return
        client = bounded_client(self.settings.mlflow_tracking_uri)
        model_name, version = payload["model_name"], payload["version"]
        columns = _input_names(client, self.settings.mlflow_tracking_uri, model_name, version)
        name = repository.register_service(self.store(), model_name, version, columns)
        client.set_model_version_tag(model_name, version, "feast.feature_service", name)
        _log.info("%s v%s trained with FeatureService %s", model_name, version, name)

    @hookimpl
    def mlops_release_check(self, model_name: str, version: str) -> str | None:
        return repository.release_problem(self.store(), model_name, version)

    @hookimpl
    def mlops_request_rows(
        self, document: dict[str, Any], model_name: str, version: str, feature_names: list[str]
    ) -> list[list[float]] | None:
        ids = online.entity_ids(document, self.settings.max_rows)
        return None if ids is None else self.online.rows(model_name, version, feature_names, ids)

    @hookimpl
    def mlops_request_rows_in_memory(
        self, document: dict[str, Any], model_name: str, version: str, feature_names: list[str]
    ) -> list[list[float]] | None:
        ids = online.entity_ids(document, self.settings.max_rows)
        return None if ids is None else self.online.in_memory(model_name, version, feature_names, ids)

    @hookimpl
    def mlops_serving_startup(self, app: FastAPI) -> None:
        online.document_entity_form(app)

    @hookimpl
    def mlops_dagster_definitions(self):
        from optional_layers.feast.definitions import feast_definitions  # Dagster only where it runs

        return feast_definitions()
