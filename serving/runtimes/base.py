"""The runtime interface (after MLServer): load, smoke-test, predict, unload."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from anyio import to_thread


class ModelLoadError(RuntimeError):
    """A model could not be loaded; `status` is the HTTP status the reload answers with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


class RuntimeUnavailable(RuntimeError):
    """The runtime's server (Triton) cannot answer now: that variant answers 503, the others serve on."""


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
    feature_names: list[str]
    input_example: np.ndarray
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


# Inputs this large are scored in a worker thread, so they never hold up the event loop.
THREAD_MIN_ROWS = 2_000


class ModelRuntime(ABC):
    backend: str = "base"
    # `predict_async` answers inputs under this many rows without suspending (the model server then
    # scores a micro-batch right where it closes, without a task); 0: it always awaits (a server)
    inline_rows: int = THREAD_MIN_ROWS

    def __init__(self) -> None:
        self.info: RuntimeInfo | None = None

    @property
    def n_features(self) -> int:
        assert self.info is not None
        return len(self.info.feature_names)

    @abstractmethod
    def load(self, ref: ModelRef, artifact_uri: str) -> None:
        """Fetch and load the model; raise ModelLoadError on any failure, leaving nothing half-set."""

    @abstractmethod
    def predict(self, rows: np.ndarray) -> np.ndarray | list[Any]:
        """Predictions for a validated, finite (n, n_features) float64 array: one per row, in order."""

    async def predict_async(self, rows: np.ndarray) -> np.ndarray | list[Any]:
        """What the model server awaits on its event loop: `predict` in place (a small in-process
        call costs less than a thread hop), in a worker thread from THREAD_MIN_ROWS rows; a runtime
        that calls a server (Triton) awaits that server instead."""
        if len(rows) >= THREAD_MIN_ROWS:
            return await to_thread.run_sync(self.predict, rows)
        return self.predict(rows)

    def smoke_test(self) -> None:
        """Predict on the model's own input example before it may take traffic."""
        assert self.info is not None
        try:
            predictions = self.predict(self.info.input_example)
        except Exception as exc:  # any failure here means the model must not be swapped in
            raise ModelLoadError(f"smoke prediction failed: {type(exc).__name__}: {exc}") from exc
        if len(predictions) != len(self.info.input_example):
            raise ModelLoadError("smoke prediction returned the wrong number of rows")

    def unload(self) -> None:
        self.info = None
