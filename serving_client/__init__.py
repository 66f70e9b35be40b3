"""The hot-swap client: what a release uses to reach every model-server replica (reload, served
version). Free of Dagster and of the server's own modules (an import-linter contract says so)."""

from serving_client.client import ServingClient, ServingError
from serving_client.fleet import Fleet, FleetResult, ReplicaOutcome, replica_urls

__all__ = ["Fleet", "FleetResult", "ReplicaOutcome", "ServingClient", "ServingError", "replica_urls"]
