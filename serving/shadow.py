"""Shadow traffic: the other alias scores a copy; only its latency and disagreement are kept."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from serving.runtimes.base import ModelRuntime


class ShadowStats:
    def __init__(self, window: int = 1000, on_event: Callable[[str, dict], None] | None = None):
        self._on_event = on_event or (lambda event, payload: None)
        self._lock = threading.Lock()
        self._latencies_ms: deque[float] = deque(maxlen=window)
        self.requests = 0
        self.rows = 0
        self.disagreements = 0
        self.errors = 0

    def record(self, runtime: ModelRuntime, rows: np.ndarray, answered: Any) -> None:
        """Score `rows` on the shadow runtime; never raises (it runs after the response is sent)."""
        started = time.perf_counter()
        try:
            predictions = runtime.predict(rows)
        except Exception:  # a broken shadow model must never affect anyone
            with self._lock:
                self.errors += 1
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        differing = int(np.count_nonzero(np.asarray(predictions) != np.asarray(answered)))
        with self._lock:
            self.requests += 1
            self.rows += len(rows)
            self.disagreements += differing
            self._latencies_ms.append(elapsed_ms)
        self._on_event("shadow_compared", {"rows": len(rows), "disagreements": differing, "latency_ms": elapsed_ms})

    def summary(self) -> dict[str, Any]:
        with self._lock:
            latencies = np.array(self._latencies_ms) if self._latencies_ms else None
            return {
                "requests": self.requests,
                "errors": self.errors,
                "disagreement_rate": self.disagreements / self.rows if self.rows else None,
                "latency_ms_p50": float(np.percentile(latencies, 50)) if latencies is not None else None,
                "latency_ms_p99": float(np.percentile(latencies, 99)) if latencies is not None else None,
            }
