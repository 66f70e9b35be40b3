"""Each served version's drift tests, fed off the hot path: the model server hands every answered
model call to a deque (its `append`, once per micro-batch); a thread takes them every
LOOK_SECONDS, bins each column's values and looks (`sequential.ColumnTest`) when at least
`look_rows` rows came since the last look: every `look_rows` rows at low traffic, every
LOOK_SECONDS at high (at 14,000 requests a second a look a row cost ~1.3 us of CPU a request, in
~60 looks a second; a look per LOOK_SECONDS costs almost nothing). The guarantee holds for any
schedule of looks that does not depend on the values seen.

A version's reference profile is fetched once, by the same thread, the first time the version is
seen. Until it is in, its rows are not counted (a version without one says "no reference"). The
tests live in this process: each replica tests the traffic it answers, and a restart starts them
again (a test that starts again is still always-valid; only evidence gathered before is lost).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from layer_api import ScoredBatch
from mlops_base.reference_profile import PREDICTION
from optional_layers.drift.reference import Bins, bins_of
from optional_layers.drift.sequential import ColumnTest, log_threshold

_log = logging.getLogger("mlops.drift")
LOOK_SECONDS = 0.5
RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # a reference that could not be fetched is asked for
# again after each of these in turn, then every 30 s: a registry slow for a moment costs a second of
# rows, one that is down is not asked twice a second
MAX_BATCHES = 20_000  # model calls waiting for the thread; older ones are dropped (counted) past this
MAX_VERSIONS = 8  # versions followed at once; the one seen longest ago is forgotten first
# rows of a version tested per step at most (40,000 a second): past it, every k-th row. Measured:
# at 100 rows x 32 connections (~860,000 rows a second) testing every row cost 0.80x the requests
# a second; a sample chosen by position, never by value, keeps the tests valid.
MAX_ROWS_PER_STEP = 20_000
Status = Literal["no traffic", "watching", "drift", "no reference", "reference unavailable"]
FetchReference = Callable[[str, str], Mapping[str, Any] | None]  # (model, version) -> profile, None: none logged


@dataclass
class Column:
    name: str
    bins: Bins
    test: ColumnTest
    since: np.ndarray  # counts per bin of the rows since the last look
    live: np.ndarray  # counts per bin of every row looked at

    def state(self, min_effect: float) -> dict[str, Any]:
        test = self.test
        live = self.live / self.live.sum() if self.live.sum() else self.live
        return {
            "column": self.name,
            "kind": self.bins.kind,
            "statistic": round(test.log_score, 4) if test.log_score > -np.inf else None,
            "threshold": round(test.log_threshold, 4),
            "effect": round(test.effect, 4),
            "min_effect": min_effect,
            "decision": "drift" if test.alarmed_at is not None else "no drift",
            "alarmed_at_row": test.alarmed_at,
            "bins": self.bins.labels,
            "reference": [round(float(p), 5) for p in self.bins.probabilities],
            "live": [round(float(p), 5) for p in live],
        }


@dataclass
class VersionDrift:
    """One version's tests, one per input column of its reference and one for its predictions."""

    version: str
    status: Status
    reason: str = ""
    columns: dict[str, Column] = field(default_factory=dict)
    rows: int = 0  # rows tested (looked at)
    answered: int = 0  # rows the version answered (tested, or left out of a sample: MAX_ROWS_PER_STEP)
    pending: int = 0  # rows counted since the last look
    looks: int = 0
    detected_at: str | None = None

    @classmethod
    def of(cls, version: str, profile: Mapping[str, Any], alpha: float, min_effect: float) -> VersionDrift:
        columns = {**profile["columns"], PREDICTION: profile[PREDICTION]}
        threshold = log_threshold(len(columns), alpha)
        drift = cls(version, "watching")
        for name, column in columns.items():
            bins = bins_of(column)
            test = ColumnTest(bins.probabilities, threshold, min_effect)
            drift.columns[name] = Column(name, bins, test, np.zeros(bins.size), np.zeros(bins.size))
        return drift

    def feed(self, indices: Mapping[str, np.ndarray], rows: int, look_rows: int) -> list[str]:
        """Count `rows` rows (each column's bin per row) and look once if `look_rows` rows have
        come since the last look: the columns that alarmed."""
        for name, where in indices.items():
            column = self.columns[name]
            column.since += np.bincount(where, minlength=column.bins.size)
        self.pending += rows
        return self.look() if self.pending >= look_rows else []

    def look(self) -> list[str]:
        alarmed = []
        for column in self.columns.values():
            before = column.test.alarmed_at
            if column.test.update(column.since) and before is None:
                alarmed.append(column.name)
            column.live += column.since
            column.since[:] = 0
        self.rows += self.pending
        self.pending = 0
        self.looks += 1
        if alarmed and self.status != "drift":
            self.status, self.detected_at = "drift", datetime.now(UTC).isoformat(timespec="seconds")
        return alarmed

    def state(self, min_effect: float) -> dict[str, Any]:
        columns = [c.state(min_effect) for c in self.columns.values()]
        return {
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "rows": self.rows,
            "answered_rows": self.answered,
            "looks": self.looks,
            "detected_at": self.detected_at,
            "drifted": [c["column"] for c in columns if c["decision"] == "drift"],
            "columns": columns,
        }


def column_values(rows: Any, columns: list[str], predictions: np.ndarray, name: str) -> np.ndarray | None:
    """One column's values of scored rows (the predictions under PREDICTION); None when the
    model's input has no such column."""
    if name == PREDICTION:
        return predictions
    if isinstance(rows, pd.DataFrame):
        return rows[name].to_numpy() if name in rows.columns else None
    return rows[:, columns.index(name)] if name in columns else None


def _joined(parts: list[Any]) -> Any:
    """The rows of many model calls as one input (arrays, or frames of a named-column model)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if isinstance(parts[0], np.ndarray) else pd.concat(parts, ignore_index=True)


class DriftMonitor:
    def __init__(
        self,
        model_name: str,
        fetch_reference: FetchReference,
        alpha: float,
        min_effect: float,
        look_rows: int,
        on_drift: Callable[[str, list[str]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.model_name, self.fetch_reference = model_name, fetch_reference
        self.alpha, self.min_effect, self.look_rows = alpha, min_effect, look_rows
        self.on_drift = on_drift or (lambda version, columns: None)
        self.clock = clock
        self.batches: deque[ScoredBatch] = deque()
        self.observe = self.batches.append  # the server's call per model call: no Python frame
        self.versions: dict[str, VersionDrift] = {}
        self.dropped = 0  # model calls never counted (the thread fell behind)
        self._retry_at: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()  # the versions' state: the thread writes, /drift reads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drift", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(LOOK_SECONDS):
            try:
                self.step()
            except Exception:  # a bug here must not stop the thread: the next batches are tested
                _log.exception("drift step failed")

    def step(self) -> None:
        """Take the waiting model calls and count them in their versions' tests."""
        excess = len(self.batches) - MAX_BATCHES
        for _ in range(max(excess, 0)):
            self.batches.popleft()
            self.dropped += 1
        taken: dict[str, list[ScoredBatch]] = {}
        while self.batches:
            batch = self.batches.popleft()
            if batch.model_name == self.model_name:
                taken.setdefault(batch.version, []).append(batch)
        for version, batches in taken.items():
            drift = self._drift_of(version)
            if drift is None or drift.status in ("no reference", "reference unavailable"):
                continue
            indices, rows, answered = self._indices(drift, batches)
            with self._lock:
                drift.answered += answered
                alarmed = drift.feed(indices, rows, self.look_rows)
            if alarmed:
                _log.warning("drift in v%s: %s", version, ", ".join(alarmed))
                self.on_drift(version, alarmed)

    def _indices(self, drift: VersionDrift, batches: list[ScoredBatch]) -> tuple[dict[str, np.ndarray], int, int]:
        """Each column's bin per tested row of the batches, in order (the batches' rows joined
        once; every k-th past MAX_ROWS_PER_STEP), how many were tested and how many answered."""
        rows = _joined([b.rows for b in batches])
        predictions = np.concatenate([np.asarray(b.predictions) for b in batches])
        answered = len(predictions)
        stride = -(-answered // MAX_ROWS_PER_STEP)
        if stride > 1:
            rows = rows.iloc[::stride] if isinstance(rows, pd.DataFrame) else rows[::stride]
            predictions = predictions[::stride]
        columns = list(batches[0].columns)
        indices: dict[str, np.ndarray] = {}
        for name, column in drift.columns.items():
            values = column_values(rows, columns, predictions, name)
            if values is not None:  # else not in this model's input: nothing to count
                indices[name] = column.bins.indices(values)
        return indices, len(predictions), answered

    def _drift_of(self, version: str) -> VersionDrift | None:
        """The version's tests; its reference fetched the first time (and again RETRY_SECONDS after
        a failure to fetch it)."""
        drift = self.versions.get(version)
        if drift is not None and drift.status != "reference unavailable":
            return drift
        if self.clock() < self._retry_at.get(version, 0.0):
            return drift
        try:
            profile = self.fetch_reference(self.model_name, version)
        except Exception as exc:  # the registry is down: try again later, serve on
            failures = self._failures[version] = self._failures.get(version, 0) + 1
            self._retry_at[version] = self.clock() + RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1]
            drift = VersionDrift(version, "reference unavailable", f"{type(exc).__name__}: {str(exc)[:200]}")
        else:
            if profile is None:
                drift = VersionDrift(version, "no reference", "the version was trained without a reference profile")
            else:
                drift = VersionDrift.of(version, profile, self.alpha, self.min_effect)
        with self._lock:
            self.versions[version] = drift
            while len(self.versions) > MAX_VERSIONS:
                del self.versions[next(iter(self.versions))]
        return drift

    def state(self, served: Mapping[str, str | None]) -> dict[str, Any]:
        """What `GET /drift` answers: per served version, its status and each column's test."""
        aliases: dict[str, list[str]] = {}
        for alias, version in served.items():
            if version is not None:
                aliases.setdefault(version, []).append(str(alias))
        with self._lock:
            versions = []
            for version, names in aliases.items():
                drift = self.versions.get(version)
                state = (drift or VersionDrift(version, "no traffic")).state(self.min_effect)
                versions.append({**state, "aliases": sorted(names)})
        return {
            "model_name": self.model_name,
            "alpha": self.alpha,
            "min_effect": self.min_effect,
            "look_rows": self.look_rows,
            "dropped_batches": self.dropped,
            "versions": versions,
        }
