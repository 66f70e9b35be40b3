"""The background sample stored with each version: up to BACKGROUND_ROWS rows of its training split,
logged with the training run as a JSON table and named by its SHA-256 (on the run and the version).
An explanation's base value is the model's mean answer over it, and the explainers that need a
stand-in for a column left out (linear models, Shapley sampling) take it from there.

It holds training rows: it lives where the version's training data and model already are (the
run's artifacts), and is read only by the model server's /explain."""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING

from mlops_base.registry_rest import RegistryClient, verified_run_file

if TYPE_CHECKING:
    import pandas as pd

BACKGROUND_ARTIFACT = "explain_background.json"
BACKGROUND_TAG = "mlops.explain_background.sha256"
BACKGROUND_ROWS = 100
MAX_BACKGROUND_BYTES = 16 * 1024 * 1024


def encode_background(x_train: pd.DataFrame) -> tuple[bytes, str]:
    """A reproducible sample of the training rows as JSON, and its SHA-256."""
    sample = x_train.sample(min(BACKGROUND_ROWS, len(x_train)), random_state=0)
    data = sample.to_json(orient="split", index=False).encode()
    return data, hashlib.sha256(data).hexdigest()


def decode_background(data: bytes) -> pd.DataFrame:
    import pandas as pd

    return pd.read_json(io.StringIO(data.decode()), orient="split", dtype=False)


def fetch_background(tracking_uri: str, model_name: str, version: str) -> pd.DataFrame | None:
    """The version's background, checked against the digest on the version (`ArtifactMismatch`
    otherwise); None when it has none (trained before explanations)."""
    with RegistryClient(tracking_uri) as client:
        data = verified_run_file(client, model_name, version, BACKGROUND_TAG, BACKGROUND_ARTIFACT, MAX_BACKGROUND_BYTES)
    return None if data is None else decode_background(data)
