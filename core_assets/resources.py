"""Small resources: the only way assets reach MLflow, the model server and the env's settings.

Secrets are `EnvVar`s, so the UI's resource tab shows the variable's name, never its value.
"""

from __future__ import annotations

import json
import os
from typing import Any

import mlflow
from dagster import ConfigurableResource, EnvVar
from mlflow import MlflowClient
from pydantic import Field

from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import RUN_SECRETS, SECRET_SETTINGS, Settings
from serving.client import ServingClient


class MlflowRegistry(ConfigurableResource):
    """The MLflow tracking server and model registry."""

    tracking_uri: str
    model_name: str
    experiment: str

    def client(self) -> MlflowClient:
        client = bounded_client(self.tracking_uri)
        # training logs through mlflow's fluent API, which reads the global URI
        mlflow.set_tracking_uri(self.tracking_uri)
        return client

    def _ui(self) -> str:
        return self.tracking_uri.rstrip("/") if self.tracking_uri.startswith("http") else ""

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self._ui()}/#/experiments/{experiment_id}/runs/{run_id}"

    def model_url(self, version: str | None = None) -> str:
        base = f"{self._ui()}/#/models/{self.model_name}"
        return f"{base}/versions/{version}" if version else base


class ModelServer(ConfigurableResource):
    """The model server that releases hot-swap; an empty URL means there is none to call."""

    url: str = ""
    reload_token: str = ""

    def client(self) -> ServingClient | None:
        return ServingClient(self.url, self.reload_token) if self.url else None


class PlatformSettings(ConfigurableResource):
    """The env's `Settings`, as the code location loaded them, for steps, sensors and layer hooks."""

    env: str
    values_json: str = Field(description="every non-secret setting of the env, as JSON")
    reload_secret_token: str = ""
    slack_webhook_url: str = ""

    def settings(self) -> Settings:
        secrets = {name: getattr(self, name) for name in RUN_SECRETS}
        return Settings.model_validate({**json.loads(self.values_json), **secrets})


def secret(settings: Settings, name: str) -> Any:
    """An `EnvVar` for a secret setting (which may come from a mounted file): exported once here so
    every run process inherits it; None when unset."""
    value = getattr(settings, name)
    if not value:
        return None
    os.environ[name.upper()] = value
    return EnvVar(name.upper())


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    secrets = {name: secret(settings, name) or "" for name in RUN_SECRETS}
    return {
        "registry": MlflowRegistry(
            tracking_uri=settings.mlflow_tracking_uri,
            model_name=settings.model_name,
            experiment=settings.mlflow_experiment,
        ),
        "model_server": ModelServer(url=settings.serving_url, reload_token=secrets["reload_secret_token"]),
        "platform": PlatformSettings(
            env=settings.mlops_env,
            values_json=settings.model_dump_json(round_trip=True, exclude=set(SECRET_SETTINGS)),
            **secrets,
        ),
    }
