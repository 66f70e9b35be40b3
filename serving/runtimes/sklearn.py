"""In-process scikit-learn runtime: downloads the version's artifacts and predicts in memory."""

from __future__ import annotations

import tempfile
import warnings

import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import Model

from mlops_base.mlflow_client import first_line
from mlops_base.settings import Settings
from serving.model_source import download
from serving.runtimes.base import ModelLoadError, ModelRef, ModelRuntime, RuntimeInfo

# Rows arrive as arrays in signature order (checked against the signature's width): the names
# a DataFrame would carry cost 4x the prediction of one row, and only repeat that order.
warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)


class SklearnRuntime(ModelRuntime):
    backend = "sklearn"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._model = None

    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        with tempfile.TemporaryDirectory(prefix="serving-model-") as tmp:
            try:
                local = download(ref, artifact_uri, tmp)
                meta = Model.load(local)
                model = mlflow.sklearn.load_model(local)
                example = meta.load_input_example(local)
            except ModelLoadError:
                raise
            except Exception as exc:  # corrupt or missing artifacts of any kind
                raise ModelLoadError(
                    f"cannot load {ref.model_name} v{ref.version}: {type(exc).__name__}: {first_line(exc)}"
                ) from exc
        if meta.signature is None or example is None:
            raise ModelLoadError(f"{ref.model_name} v{ref.version} has no signature or input example")
        self._model = model
        self.info = RuntimeInfo(
            ref=ref,
            feature_names=meta.signature.inputs.input_names(),
            input_example=pd.DataFrame(example).to_numpy(dtype=np.float64),
        )

    def predict(self, rows: np.ndarray) -> np.ndarray:
        assert self.info is not None and self._model is not None
        with sklearn.config_context(assume_finite=True):  # the payload check already refused NaN/inf
            return self._model.predict(rows)

    def unload(self) -> None:
        self._model = None
        super().unload()
