"""Resources: the only way assets and sensors reach MLflow, the model server, the env's settings
and the optional layers.

The settings and the layer manager are built once, where the code location assembles itself (in
every process that loads it: the code server, the daemon, each run), and handed on as resources;
nothing fetches them from a global. No secret is resource config, so the UI never shows one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource, ResourceDefinition

from layer_api.manager import LayerManager
from mlops_base.mlflow_client import bounded_client
from mlops_base.registry_rest import RegistryClient
from mlops_base.settings import Settings
from serving_client import Fleet, replica_urls

if TYPE_CHECKING:  # MLflow costs ~1 s of every load of the code location: imported on first use
    from mlflow import MlflowClient


class MlflowRegistry(ConfigurableResource):
    """The MLflow tracking server and model registry."""

    tracking_uri: str
    model_name: str
    experiment: str

    def client(self) -> MlflowClient:
        """MLflow's client (training, registration); the release path uses `rest()`."""
        return bounded_client(self.tracking_uri)

    def rest(self) -> RegistryClient:
        """The registry's REST API without MLflow's library: the release path's client (close it)."""
        return RegistryClient(self.tracking_uri)

    def _ui(self) -> str:
        return self.tracking_uri.rstrip("/") if self.tracking_uri.startswith("http") else ""

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self._ui()}/#/experiments/{experiment_id}/runs/{run_id}"

    def model_url(self, version: str | None = None) -> str:
        base = f"{self._ui()}/#/models/{self.model_name}"
        return f"{base}/versions/{version}" if version else base


class ModelServer(ConfigurableResource):
    """The model-server replicas that releases hot-swap: `replica_urls` or the headless Service
    `replicas_dns` names them, else `url` alone; nothing set means there is none to call."""

    url: str = ""
    replica_urls: str = ""
    replicas_dns: str = ""

    def fleet(self, reload_token: str) -> Fleet | None:
        """The replicas found now; ServingError when the DNS name resolves to none."""
        urls = replica_urls(self.url, self.replica_urls, self.replicas_dns)
        return Fleet(urls, reload_token) if urls else None


def build_resources(settings: Settings, layers: LayerManager) -> dict[str, Any]:
    return {
        "registry": MlflowRegistry(
            tracking_uri=settings.mlflow_tracking_uri,
            model_name=settings.model_name,
            experiment=settings.mlflow_experiment,
        ),
        "model_server": ModelServer(
            url=settings.serving_url,
            replica_urls=settings.serving_replica_urls,
            replicas_dns=settings.serving_replicas_dns,
        ),
        "settings": ResourceDefinition.hardcoded_resource(
            settings, "the env's settings, as the code location loaded them"
        ),
        "layers": ResourceDefinition.hardcoded_resource(layers, "the env's optional layers (plugin manager)"),
    }
