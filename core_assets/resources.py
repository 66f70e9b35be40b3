"""Small resources: the only way assets reach MLflow, the model server and the env's settings."""

import json
from typing import Any

import mlflow
from dagster import ConfigurableResource
from mlflow import MlflowClient
from pydantic import Field

from mlops_platform.mlflow_client import bounded_client
from mlops_platform.settings import Settings
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


class PipelineSettings(ConfigurableResource):
    """The env's data, training and release settings, shown in the UI's resource tab."""

    dataset: str
    target_column: str
    test_size: float
    split_seed: int
    estimator: str
    estimator_params_json: str = Field(description="JSON object of estimator parameters")
    min_accuracy: float
    target_alias: str
    env: str
    state_dir: str

    @property
    def estimator_params(self) -> dict[str, Any]:
        return json.loads(self.estimator_params_json)


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    return {
        "registry": MlflowRegistry(
            tracking_uri=settings.mlflow_tracking_uri,
            model_name=settings.model_name,
            experiment=settings.mlflow_experiment,
        ),
        "model_server": ModelServer(url=settings.serving_url, reload_token=settings.reload_secret_token),
        "pipeline": PipelineSettings(
            dataset=settings.dataset,
            target_column=settings.target_column,
            test_size=settings.test_size,
            split_seed=settings.split_seed,
            estimator=settings.estimator,
            estimator_params_json=json.dumps(settings.estimator_params, sort_keys=True),
            min_accuracy=settings.min_accuracy,
            target_alias=settings.target_alias,
            env=settings.mlops_env,
            state_dir=str(settings.state_dir),
        ),
    }
