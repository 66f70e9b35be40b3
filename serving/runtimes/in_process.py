"""In-process runtime: downloads the version's artifacts and predicts in the model server's memory.

How it loads and predicts follows the logged model's flavour: scikit-learn models (pipelines with
encoders and imputers included) and LightGBM's are read without MLflow and without running the
artifact's code (`serving.runtimes.safe_load`); another flavour, when MODEL_ALLOWED_FLAVOURS names
it, through MLflow's generic `pyfunc` loader (imported then only), with its library's own model for
class probabilities. A model that takes float64 arrays in column
order as it takes its frame is served positionally (the fast path); others get a frame of their
named, typed columns.
"""

from __future__ import annotations

import tempfile
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sklearn
from sklearn.pipeline import Pipeline

from mlops_base.mlflow_client import first_line
from mlops_base.settings import Settings
from serving.model_source import download
from serving.runtimes.base import (
    ModelInput,
    ModelLoadError,
    ModelRef,
    ModelRuntime,
    NoProbabilities,
    NotExplainable,
    RuntimeInfo,
)
from serving.runtimes.model_meta import flavour_of, read_mlmodel, signature_inputs
from serving.runtimes.safe_load import NATIVE_FLAVOURS, LoadPolicy

if TYPE_CHECKING:
    from mlops_base.explain.explainers import Explanation
    from serving.explain_worker import ExplainWorker

# Positional rows arrive as arrays in signature order (checked against the signature's width): the
# names a DataFrame would carry cost 4x the prediction of one row, and only repeat that order.
warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool((a == b).all())


class InProcessRuntime(ModelRuntime):
    backend = "sklearn"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._policy = LoadPolicy.of(settings)
        self._model = None  # what predicts: the scikit-learn or LightGBM model, or the pyfunc model
        self._native = None  # the library's own model, for predict_proba and explanations
        # once asked: the version's explanation background (None: it has none), and whether its
        # explainer loops in Python (then it runs in the server's worker process)
        self._explaining: tuple[pd.DataFrame | None, bool] | None = None

    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        label = f"{ref.model_name} v{ref.version}"
        with tempfile.TemporaryDirectory(prefix="serving-model-") as tmp:
            try:
                local = download(ref, artifact_uri, tmp, self._policy.allow_unverified)
                meta = read_mlmodel(local)
                flavour = flavour_of(meta)
                self._policy.check_flavour(flavour, label)
                if flavour in NATIVE_FLAVOURS:
                    model = native = self._policy.load_native(local, meta, flavour, label)
                else:
                    import mlflow.pyfunc  # a flavour MODEL_ALLOWED_FLAVOURS adds: MLflow's loader reads it

                    model = mlflow.pyfunc.load_model(str(local))
                    native = _raw(model)
                columns, example = signature_inputs(meta, local, label)
            except ModelLoadError:
                raise
            except Exception as exc:  # corrupt or missing artifacts of any kind
                raise ModelLoadError(f"cannot load {label}: {type(exc).__name__}: {first_line(exc)}") from exc
        self._model, self._native = model, native
        positional = flavour == "sklearn" and all(c.kind == "number" for c in columns) and self._takes_arrays(example)
        self.info = RuntimeInfo(
            ref=ref,
            columns=columns,
            input_example=example.to_numpy(dtype=np.float64) if positional else example,
            positional=positional,
            flavour=flavour,
            classes=_classes(native),
        )

    def _takes_arrays(self, example: pd.DataFrame) -> bool:
        """The model answers an array in column order as it answers the frame (no name-based steps)."""
        try:
            return _same(self._model.predict(example.to_numpy(dtype=np.float64)), self._model.predict(example))
        except Exception:  # e.g. a ColumnTransformer that selects columns by name
            return False

    def predict(self, x: ModelInput) -> np.ndarray:
        assert self.info is not None and self._model is not None
        if isinstance(x, np.ndarray):
            with sklearn.config_context(assume_finite=True):  # the payload check already refused NaN/inf
                return self._model.predict(x)
        return np.asarray(self._model.predict(x))

    def predict_proba(self, x: ModelInput) -> np.ndarray:
        assert self.info is not None
        if self.info.classes is None:
            raise NoProbabilities(f"{self.info.ref.model_name} v{self.info.ref.version} gives no class probabilities")
        if isinstance(x, np.ndarray):
            with sklearn.config_context(assume_finite=True):  # as predict: the payload check refused NaN/inf
                return np.asarray(self._native.predict_proba(x))
        return np.asarray(self._native.predict_proba(x))

    def predict_with_proba(self, x: ModelInput) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and class probabilities of the same rows, each as `predict` and
        `predict_proba` answer it; a scikit-learn pipeline's transforms run once for both, as each
        of the two runs them (profiled in batch scoring: the churn pipeline's encoders were half
        the cost of scoring a chunk, paid twice)."""
        model = self._model
        if model is not self._native or not isinstance(model, Pipeline) or len(model) < 2:
            return self.predict(x), self.predict_proba(x)
        assert self.info is not None
        if self.info.classes is None:
            raise NoProbabilities(f"{self.info.ref.model_name} v{self.info.ref.version} gives no class probabilities")
        with sklearn.config_context(assume_finite=isinstance(x, np.ndarray)):
            transformed = model[:-1].transform(x)
            final = model[-1]
            return np.asarray(final.predict(transformed)), np.asarray(final.predict_proba(transformed))

    def explain(self, x: pd.DataFrame, worker: ExplainWorker | None = None) -> Explanation:
        """The library's own model explained (a pipeline summed back to its input columns), with the
        version's background (fetched once, checked against its digest) where the method needs one;
        in `worker`'s process when the method loops in Python."""
        from mlops_base.explain.background import fetch_background
        from mlops_base.explain.explainers import NeedsBackground, explain, runs_in_python

        assert self.info is not None
        ref = self.info.ref
        if self._native is None:
            raise NotExplainable(
                f"{ref.model_name} v{ref.version}: its flavour {self.info.flavour} gives no model to explain"
            )
        if self._explaining is None:
            background = fetch_background(ref.registry_uri, ref.model_name, ref.version)
            self._explaining = (background, runs_in_python(self._native, [str(c) for c in x.columns]))
        background, in_python = self._explaining
        try:
            if worker is not None and in_python:
                return worker.explain(f"{ref.model_name}/{ref.version}/{ref.run_id}", self._native, x, background)
            return explain(self._native, x, background)
        except NeedsBackground as exc:
            raise NotExplainable(
                f"{ref.model_name} v{ref.version} has no background sample logged (trained before explanations; "
                f"retrain it): {exc}"
            ) from exc

    def unload(self) -> None:
        self._model = self._native = self._explaining = None
        super().unload()


def _raw(pyfunc_model):
    try:
        return pyfunc_model.get_raw_model()
    except (NotImplementedError, AttributeError):
        return None


def _classes(native) -> list | None:
    classes = getattr(native, "classes_", None)
    if classes is None or not callable(getattr(native, "predict_proba", None)):
        return None
    return np.asarray(classes).tolist()
