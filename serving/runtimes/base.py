"""The runtime interface (after MLServer): load, smoke-test, predict, unload."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from anyio import to_thread

from serving.columns import Column

if TYPE_CHECKING:
    from mlops_base.explain.explainers import Explanation
    from serving.explain_worker import ExplainWorker

ModelInput = np.ndarray | pd.DataFrame
"""A validated float64 (n, n_features) array for a positional model, else its input frame."""


class ModelLoadError(RuntimeError):
    """A model could not be loaded; `status` is the HTTP status the reload answers with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


class RuntimeUnavailable(RuntimeError):
    """The runtime's server (Triton) cannot answer now: that variant answers 503, the others serve on."""


class NotExplainable(ValueError):
    """The model cannot be explained here (a runtime that keeps no model in process, a flavour
    without its library's model, a version without a background its method needs)."""


class NoProbabilities(ValueError):
    """The model gives no class probabilities (a regressor, or a classifier without predict_proba)."""


@dataclass(frozen=True)
class ModelRef:
    """Which registry entry a runtime serves."""

    registry_uri: str
    model_name: str
    version: str
    run_id: str
    source: str
    digest: str | None = None  # the artifacts' sha256 logged at training; None when none was recorded


@dataclass
class RuntimeInfo:
    ref: ModelRef
    columns: list[Column]
    input_example: ModelInput
    # takes float64 arrays in column order (the fast path); False: a frame with its named columns
    positional: bool = True
    flavour: str = "sklearn"
    classes: list[Any] | None = None  # a classifier's labels, in the order of its probabilities
    predicts: np.dtype | None = None  # the dtype of its predictions (seen on its input example)
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def feature_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def all_numeric(self) -> bool:
        return all(column.kind == "number" for column in self.columns)

    def accepts(self, x: ModelInput) -> bool:
        """`x` is an input of this model's form (shadow scoring reuses another alias's input)."""
        if isinstance(x, np.ndarray):
            return self.positional and x.shape[1] == len(self.columns)
        return not self.positional and list(x.columns) == self.feature_names


# Inputs this large are scored in a worker thread, so they never hold up the event loop.
THREAD_MIN_ROWS = 2_000


class ModelRuntime(ABC):
    backend: str = "base"
    # `predict_async` answers inputs under this many rows without suspending (the model server then
    # scores a micro-batch right where it closes, without a task); 0: it always awaits (a server)
    inline_rows: int = THREAD_MIN_ROWS
    max_in_flight: int = 0  # batches scored at once (0: no limit); see serving.batching

    def __init__(self) -> None:
        self.info: RuntimeInfo | None = None

    @property
    def n_features(self) -> int:
        assert self.info is not None
        return len(self.info.columns)

    @abstractmethod
    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        """Fetch and load the model; raise ModelLoadError on any failure, leaving nothing half-set."""

    @abstractmethod
    def predict(self, x: ModelInput) -> np.ndarray | list[Any]:
        """Predictions for a validated input (see ModelInput): one per row, in order."""

    def predict_proba(self, x: ModelInput) -> np.ndarray:
        """Class probabilities, one row per input row, columns in `info.classes` order."""
        raise NoProbabilities("this model gives no class probabilities")

    def explain(self, x: pd.DataFrame, worker: ExplainWorker | None = None) -> Explanation:
        """Additive attributions per input column for the rows `x` (`mlops_base.explain`); those
        whose method loops in Python are computed in `worker`'s process when one is given."""
        raise NotExplainable(f"{self.backend} runtimes keep no model in this process to explain")

    async def predict_async(self, x: ModelInput) -> np.ndarray | list[Any]:
        """What the model server awaits on its event loop: `predict` in place (a small in-process
        call costs less than a thread hop), in a worker thread from THREAD_MIN_ROWS rows; a runtime
        that calls a server (Triton) awaits that server instead."""
        if len(x) >= THREAD_MIN_ROWS:
            return await to_thread.run_sync(self.predict, x)
        return self.predict(x)

    def smoke_test(self) -> None:
        """Predict on the model's own input example before it may take traffic."""
        assert self.info is not None
        try:
            predictions = self.predict(self.info.input_example)
        except Exception as exc:  # any failure here means the model must not be swapped in
            raise ModelLoadError(f"smoke prediction failed: {type(exc).__name__}: {exc}") from exc
        if len(predictions) != len(self.info.input_example):
            raise ModelLoadError("smoke prediction returned the wrong number of rows")
        self.info.predicts = np.asarray(predictions).dtype

    def unload(self) -> None:
        self.info = None
