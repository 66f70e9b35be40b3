"""In-process scikit-learn runtime: downloads the version's artifacts and predicts in memory."""

from __future__ import annotations

import tempfile
from typing import Any

import mlflow.artifacts
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import Model

from serving.runtimes.base import ModelLoadError, ModelRef, ModelRuntime, RuntimeInfo


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class SklearnRuntime(ModelRuntime):
    backend = "sklearn"

    def __init__(self) -> None:
        super().__init__()
        self._model = None

    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        with tempfile.TemporaryDirectory(prefix="serving-model-") as tmp:
            try:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=artifact_uri, dst_path=tmp, tracking_uri=ref.registry_uri
                )
                meta = Model.load(local)
                model = mlflow.sklearn.load_model(local)
                example = meta.load_input_example(local)
            except Exception as exc:  # corrupt or missing artifacts of any kind
                reason = (str(exc).splitlines() or [""])[0]
                raise ModelLoadError(f"cannot load {ref.model_name} v{ref.version}: {type(exc).__name__}: {reason}") from exc
        if meta.signature is None or example is None:
            raise ModelLoadError(f"{ref.model_name} v{ref.version} has no signature or input example")
        example_frame = pd.DataFrame(example)
        self._model = model
        self.info = RuntimeInfo(
            ref=ref,
            feature_names=meta.signature.inputs.input_names(),
            input_example=example_frame.to_numpy(dtype=float).tolist(),
        )

    def predict(self, rows: list[list[float]]) -> list[Any]:
        assert self.info is not None and self._model is not None
        frame = pd.DataFrame(rows, columns=self.info.feature_names)
        return [_plain(value) for value in self._model.predict(frame)]

    def unload(self) -> None:
        self._model = None
        super().unload()
