"""An MLflow client whose retries and timeouts are bounded, for Dagster and serving alike."""

from __future__ import annotations

import os

from mlflow import MlflowClient

# A dead registry fails in seconds (retries after 1 s and 2 s, 10 s timeout), not minutes.
BOUNDED_RETRY_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def bounded_client(tracking_uri: str) -> MlflowClient:
    for key, value in BOUNDED_RETRY_ENV.items():
        os.environ.setdefault(key, value)
    return MlflowClient(tracking_uri, registry_uri=tracking_uri)
