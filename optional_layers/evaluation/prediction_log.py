"""The prediction log: answered predictions handed over on the event loop (one deque append), written
by a thread in batches to rotated JSON-lines files and to the outcome store. A full queue drops the
record and counts it: logging never slows or fails a request."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from layer_api import AnsweredPrediction
from optional_layers.evaluation.store import OutcomeStore

_log = logging.getLogger("mlops.evaluation")
FLUSH_SECONDS = 0.5  # a batch per half second: per-batch costs (a transaction, a file append) stay small
PRUNE_SECONDS = 3600.0  # how often predictions past the feedback window are forgotten


def _json(data: Any) -> bytes:
    """Predictions or inputs as JSON: arrays by orjson's own numpy encoder, frames as records."""
    if isinstance(data, pd.DataFrame):
        return orjson.dumps(data.astype(object).where(data.notna(), None).to_dict(orient="records"))
    if isinstance(data, np.ndarray):
        try:
            return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
        except orjson.JSONEncodeError:  # object or non-contiguous arrays
            return orjson.dumps(data.tolist())
    return orjson.dumps(data)


def encode(prediction: AnsweredPrediction, with_inputs: bool) -> tuple[bytes, bytes]:
    """One line of the log, and its predictions' JSON (the outcome store keeps them too)."""
    predictions = _json(prediction.predictions)
    line = {
        "request_id": prediction.request_id,
        "time": prediction.time,
        "alias": prediction.alias,
        "model_name": prediction.model_name,
        "version": prediction.version,
        "bucket": prediction.bucket,
        "predictions": orjson.Fragment(predictions),
    }
    if with_inputs:
        line["inputs"] = orjson.Fragment(_json(prediction.rows))
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE), predictions


class RotatingFile:
    """Append-only JSON lines, a new file past `max_bytes`; `on_closed` gets each closed file."""

    def __init__(self, directory: Path, max_bytes: int, on_closed: Callable[[Path], None]):
        self.directory, self.max_bytes, self.on_closed = directory, max_bytes, on_closed
        directory.mkdir(parents=True, exist_ok=True)
        self.path: Path | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        if self.path is None:
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            self.path = self.directory / f"predictions-{stamp}-{os.getpid()}-{random.randrange(1 << 32):08x}.jsonl"
        with self.path.open("ab") as out:
            out.write(data)
        self.size += len(data)
        if self.size >= self.max_bytes:
            self.close()

    def close(self) -> None:
        if self.path is not None:
            closed, self.path, self.size = self.path, None, 0
            self.on_closed(closed)


class PredictionLog:
    def __init__(
        self,
        store: OutcomeStore,
        files: RotatingFile,
        capacity: int,
        sample: float,
    ):
        self.store, self.files, self.capacity, self.sample = store, files, capacity, sample
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
                    self.store.prune()
            except Exception:  # a broken disk or database loses this batch, never the server
                _log.exception("prediction log batch lost")
            if self._stop and not self.queue:
                return

    def _write_batch(self) -> None:
        batch = []
        while self.queue:
            batch.append(self.queue.popleft())
        try:
            if batch:
                sample, draw = self.sample, random.random
                encoded = [encode(p, draw() < sample) for p in batch]
                self.files.write(b"".join(line for line, _ in encoded))
                self.store.add_predictions(
                    [
                        (p.request_id, p.time, p.model_name, p.alias, p.version, p.bucket, predictions.decode())
                        for p, (_, predictions) in zip(batch, encoded, strict=True)
                        if p.request_id
                    ]
                )
        finally:
            with self._drained:
                self.written += len(batch)
                self._drained.notify_all()
