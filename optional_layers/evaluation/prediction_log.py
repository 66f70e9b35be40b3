"""The prediction log: answered predictions handed over on the event loop (the recorder is a list's
own `append`: no Python frame a request), encoded there every ENCODE_SECONDS as one JSON line of
columns, written by a thread to rotated JSON-lines files and to the outcome store. More than the
queue holds are dropped and counted when they are encoded: logging never slows or fails a request.

Why encode on the loop: the same encoding in the writer thread, from records kept until then,
cost twice as much CPU a request (A/B, one core); the loop encodes a batch while it is warm in the
cache and frees it where it was made. Why so often: records kept a tenth of a second (~1,400 at
14k a second, their arrays with them) are cold in the cache when encoded (1.8 us a record timed in
the server, against 0.5 us for warm ones); kept a fiftieth, the layer cost 1.126x CPU a request
against 1.146x (A/B, rotated order, with the list-append recorder). Encoding each micro-batch at
once, while warm, measured worse: its fixed cost is paid per ~14 records."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import orjson
import pandas as pd

from layer_api import AnsweredPrediction
from optional_layers.evaluation.answer_batch import AnswerBatch, answer_batch, by_prefix, dumps
from optional_layers.evaluation.store import OutcomeStore

if TYPE_CHECKING:
    from mlops_base.explain.explainers import Explanation

_log = logging.getLogger("mlops.evaluation")
ENCODE_SECONDS = 0.02  # a line per fiftieth of a second: ~280 predictions at 14k a second, ~0.1 ms on the loop
FLUSH_SECONDS = 0.5  # written twice a second: per-write costs (a transaction, a file append) stay small
PRUNE_SECONDS = 3600.0  # how often predictions past the feedback window are forgotten


class Inputs:
    """What the log keeps of a request's inputs: records of the allowed columns (every column when
    no list is given), or nothing at all."""

    def __init__(self, keep: Literal["off", "sample", "all"], share: float, columns: str):
        self.share = {"off": 0.0, "sample": share, "all": 1.0}[keep]
        self.allowed = frozenset(c.strip() for c in columns.split(",") if c.strip()) or None

    def drawn(self, count: int) -> list[bool]:
        """Which of `count` requests have their inputs kept."""
        if self.share >= 1:
            return [True] * count
        return (np.random.random(count) < self.share).tolist()

    def records(self, rows: Any, columns: Sequence[str]) -> list[dict]:
        if isinstance(rows, pd.DataFrame):
            kept = [c for c in rows.columns if self.allowed is None or c in self.allowed]
            frame = rows[kept]
            return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        kept = [(i, name) for i, name in enumerate(columns) if self.allowed is None or name in self.allowed]
        return [{name: row[i] for i, name in kept} for row in np.asarray(rows).tolist()]

    def explanation(self, explanation: Explanation | None) -> dict | None:
        """A request's explanation as the log keeps it: the allowed columns' attributions only."""
        return None if explanation is None else explanation.fields(self.allowed)


class Chunk(NamedTuple):
    """Encoded predictions waiting for the writer: a line of the log and the store's row."""

    line: bytes
    batch: AnswerBatch
    count: int


def encode(batch: Sequence[AnsweredPrediction], inputs: Inputs) -> list[Chunk]:
    """The batch as lines of the log and the store's rows: the store's columns, plus
    (PREDICTION_LOG_INPUTS not off) an `inputs` column: the request's records where drawn, else
    null (an outcome fed back for it keeps them: labelled traffic a drift retrain learns from), and
    where some request asked for one, an `explanation` column, drawn and filtered as the inputs."""
    chunks = []
    for columns in by_prefix(batch):
        answers = answer_batch(columns)
        line = answers.answers
        if inputs.share > 0:
            rows, names, explained = columns[7], columns[8], columns[10]
            drawn = inputs.drawn(len(rows))
            kept = [inputs.records(r, n) if d else None for r, n, d in zip(rows, names, drawn, strict=True)]
            more = b',"inputs":' + dumps(kept)
            if any(e is not None for e in explained):
                why = [inputs.explanation(e) if d else None for e, d in zip(explained, drawn, strict=True)]
                more += b',"explanation":' + dumps(why)
            line = line[:-1] + more + b"}"  # more keys in the object
        chunks.append(Chunk(line + b"\n", answers._replace(answers=line), len(columns[0])))  # the store's row: the same
    return chunks


def records(line: bytes) -> list[dict[str, Any]]:
    """A line of the log as a record per prediction: each column's value at its index."""
    columns = orjson.loads(line)
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


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
        self.pending: list[AnsweredPrediction] = []  # recorded on the loop, until it encodes them
        self.chunks: deque[Chunk] = deque()  # encoded, for the writer
        self.accepted = self.lost = self.dropped = 0  # counted on the loop
        self.written = 0  # counted by the writer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hurry = False
        self._wake = threading.Event()
        self._drained = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def recorder(self) -> Callable[[AnsweredPrediction], None]:
        """What the server calls with each answered prediction, on the event loop this is called on
        (the server's, when it starts serving): `pending.append`, O(1), never blocks; what it
        collects is encoded every ENCODE_SECONDS."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.call_later(ENCODE_SECONDS, self._tick)
        return self.pending.append

    def _tick(self) -> None:
        if self._stop or self._loop is None or self._loop.is_closed():
            return
        self._loop.call_later(ENCODE_SECONDS, self._tick)
        if self.pending:
            self._encode()

    def _encode(self) -> None:
        """On the event loop (or at close, once it stopped): what was recorded since the last time,
        less what the queue has no room for (dropped and counted)."""
        batch = self.pending.copy()
        self.pending.clear()  # the recorder is this list's append: the list stays
        room = self.capacity - (self.accepted - self.written - self.lost)
        if len(batch) > room:
            self.dropped += len(batch) - max(room, 0)
            batch = batch[: max(room, 0)]
        self.accepted += len(batch)
        try:
            self.chunks.extend(encode(batch, self.inputs))
        except Exception:  # a record no JSON holds loses this batch, never the server
            self.lost += len(batch)
            _log.exception("prediction log batch lost")
        if self._hurry:
            self._hurry = False
            self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """From a worker thread: wait until what was put before this call is written (feedback
        right after its prediction)."""
        with self._drained:
            target = self.accepted + self.dropped + len(self.pending)  # recorded so far
            self._hurry = True
            self._wake.set()
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._encode)

            def done() -> bool:
                return self.written + self.lost + self.dropped >= target or self._stop

            return self._drained.wait_for(done, timeout)

    def close(self) -> None:
        """At exit, the loop stopped: the rest encoded and written."""
        self._encode()
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
                self._write()
                if time.monotonic() - pruned > PRUNE_SECONDS:
                    pruned = time.monotonic()
                    self.prune()
            except Exception:  # a broken disk or database loses this batch, never the server
                _log.exception("prediction log batch lost")
            if self._stop and not self.chunks:
                return

    def prune(self) -> None:
        """Forget what is past the feedback window or the retention: rows in the store, local files."""
        self.store.prune()
        if math.isfinite(self.retention_seconds):
            self.files.remove_older_than(time.time() - self.retention_seconds)

    def _write(self) -> None:
        chunks = []
        while self.chunks:
            chunks.append(self.chunks.popleft())
        try:
            if chunks:
                self.files.write(b"".join(chunk.line for chunk in chunks))
                self.store.add_batches([chunk.batch for chunk in chunks])
        finally:
            with self._drained:
                self.written += sum(chunk.count for chunk in chunks)
                self._drained.notify_all()
