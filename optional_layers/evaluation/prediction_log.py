"""The prediction log: answered predictions handed over on the event loop (one deque append), written
by a thread in batches to rotated JSON-lines files and to the outcome store. A full queue drops the
record and counts it: logging never slows or fails a request."""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd

from layer_api import AnsweredPrediction
from optional_layers.evaluation.store import OutcomeStore, dumps

_log = logging.getLogger("mlops.evaluation")
FLUSH_SECONDS = 0.5  # a batch per half second: per-batch costs (a transaction, a file append) stay small
PRUNE_SECONDS = 3600.0  # how often predictions past the feedback window are forgotten


class Inputs:
    """What the log keeps of a request's inputs: records of the allowed columns (every column when
    no list is given), or nothing at all."""

    def __init__(self, keep: Literal["off", "sample", "all"], share: float, columns: str):
        self.share = {"off": 0.0, "sample": share, "all": 1.0}[keep]
        self.allowed = frozenset(c.strip() for c in columns.split(",") if c.strip()) or None

    def drawn(self) -> bool:
        return self.share > 0 and (self.share >= 1 or random.random() < self.share)

    def records(self, rows: Any, columns: Sequence[str]) -> list[dict]:
        if isinstance(rows, pd.DataFrame):
            kept = [c for c in rows.columns if self.allowed is None or c in self.allowed]
            frame = rows[kept]
            return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        kept = [(i, name) for i, name in enumerate(columns) if self.allowed is None or name in self.allowed]
        return [{name: row[i] for i, name in kept} for row in np.asarray(rows).tolist()]


def lines(batch: Sequence[AnsweredPrediction], inputs: Inputs) -> bytearray:
    """The batch as lines of the log, each with the request's inputs when drawn. Appended to one
    buffer: each line's bytes freed at once (kept in a list to join, they cost ~5x, measured)."""
    out = bytearray()
    keep_inputs = inputs.share > 0
    for p in batch:
        line = {
            "prediction_id": p.prediction_id,
            "request_id": p.request_id,
            "time": p.time,
            "alias": p.alias,
            "model_name": p.model_name,
            "version": p.version,
            "routed": p.bucket is not None,
            "bucket": p.bucket,
            "predictions": p.predictions,
        }
        if keep_inputs and inputs.drawn():
            line["inputs"] = inputs.records(p.rows, p.columns)
        out += dumps(line, orjson.OPT_APPEND_NEWLINE)
    return out


class RotatingFile:
    """Append-only JSON lines, readable by this user only, a new file past `max_bytes`; `on_closed`
    gets each closed file (and may remove it once it is safely elsewhere)."""

    def __init__(self, directory: Path, max_bytes: int, on_closed: Callable[[Path], None]):
        self.directory, self.max_bytes, self.on_closed = directory, max_bytes, on_closed
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)  # made by an older version: what it holds is private
        self.path: Path | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        if self.path is None:
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            self.path = self.directory / f"predictions-{stamp}-{os.getpid()}-{random.randrange(1 << 32):08x}.jsonl"
        # created 0600: never world-readable, not even between the open and a chmod
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "ab") as out:
            out.write(data)
        self.size += len(data)
        if self.size >= self.max_bytes:
            self.close()

    def close(self) -> None:
        if self.path is not None:
            closed, self.path, self.size = self.path, None, 0
            self.on_closed(closed)

    def remove_older_than(self, cutoff: float) -> int:
        """Delete closed log files last written before `cutoff` (epoch seconds); how many."""
        removed = 0
        for path in self.directory.glob("predictions-*.jsonl"):
            if path != self.path and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class PredictionLog:
    def __init__(
        self,
        store: OutcomeStore,
        files: RotatingFile,
        capacity: int,
        inputs: Inputs,
        retention_seconds: float = math.inf,
    ):
        self.store, self.files, self.capacity, self.inputs = store, files, capacity, inputs
        self.retention_seconds = retention_seconds
        self.queue: deque[AnsweredPrediction] = deque()
        self.dropped = 0
        self.written = 0
        self._wake = threading.Event()
        self._drained = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, prediction: AnsweredPrediction) -> None:
        """On the event loop: O(1), never blocks."""
        if len(self.queue) >= self.capacity:
            self.dropped += 1
            return
        self.queue.append(prediction)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until what was queued before this call is written (feedback right after its prediction)."""
        with self._drained:
            target = self.written + len(self.queue)
            self._wake.set()
            return self._drained.wait_for(lambda: self.written >= target or self._stop, timeout)

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.files.close()

    def _run(self) -> None:
        pruned = time.monotonic()
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self._write_batch()
                if time.monotonic() - pruned > PRUNE_SECONDS:
                    pruned = time.monotonic()
                    self.prune()
            except Exception:  # a broken disk or database loses this batch, never the server
                _log.exception("prediction log batch lost")
            if self._stop and not self.queue:
                return

    def prune(self) -> None:
        """Forget what is past the feedback window or the retention: rows in the store, local files."""
        self.store.prune()
        if math.isfinite(self.retention_seconds):
            self.files.remove_older_than(time.time() - self.retention_seconds)

    def _write_batch(self) -> None:
        batch = []
        while self.queue:
            batch.append(self.queue.popleft())
        try:
            if batch:
                self.files.write(lines(batch, self.inputs))
                self.store.add_predictions(batch)
        finally:
            with self._drained:
                self.written += len(batch)
                self._drained.notify_all()
