"""An MLflow client whose retries and timeouts are bounded, for Dagster and serving alike."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a client is made: the model server uses `first_line` only
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
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri, registry_uri=tracking_uri)


def use_fluent_api(client: MlflowClient) -> None:
    """Point MLflow's fluent API (`mlflow.register_model`, `mlflow.pyfunc.load_model("models:/...")`,
    `mlflow.models.get_model_info`), which reads only the process's global tracking URI, at
    `client`'s registry: called where the fluent API is, never from a getter."""
    import mlflow

    mlflow.set_tracking_uri(client.tracking_uri)


def first_line(exc: BaseException, limit: int = 200) -> str:
    """A client's error (MLflow's carry whole tracebacks of retries) reduced to its first line, for
    skip reasons, HTTP details and logs; its type when it has no message; at most `limit` characters."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."
