"""Score a file with one model version, as the model server would answer each row: the server's
loader (its safe-loading policy and allowlists, the artifacts checked against their digest), its
checks (`serving.batch.checks`), its model call. Rows it would refuse go to a rejects file with the
reason; nothing is dropped silently.

The input is read a chunk at a time and the chunks are scored by worker processes (one per core by
default, each with the model loaded once), at most two chunks per worker in flight, and written in
the input's order: memory stays bounded by the chunk size whatever the input's size, and the same
input and version write the same bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from mlops_base.file_uris import S3Access, stamp
from mlops_base.settings import Settings
from serving.batch import files
from serving.batch.checks import BatchInputError, check_columns, check_rows
from serving.model_source import RegistrySource
from serving.runtimes.base import ModelRef, RuntimeInfo
from serving.runtimes.in_process import InProcessRuntime

PREDICTION = "prediction"
MODEL_COLUMNS = ("model_name", "model_version", "run_id")  # who scored each row


@dataclass(frozen=True)
class BatchJob:
    version: str  # pinned: the version the alias named when the batch began
    input_uri: str
    output_uri: str
    rejects_uri: str
    id_column: str | None = None  # kept beside the predictions instead of the model's columns
    chunk_rows: int = 100_000
    workers: int = 0  # 0: one per core this process may use


@dataclass
class Summary:
    """What a batch did, for the asset's metadata and the CLI."""

    model_name: str
    version: str
    run_id: str
    rows: int = 0
    scored: int = 0
    rejected: int = 0
    seconds: float = 0.0
    output_sha256: str | None = None
    rejects_sha256: str | None = None
    first_reject: str | None = None
    predictions: dict[str, Any] = field(default_factory=dict)  # per class counts, or a regression's spread

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def score(job: BatchJob, settings: Settings) -> Summary:
    """Score `job.input_uri` with `settings.model_name` v`job.version`; BatchInputError when the file's
    columns are not the model's, ModelLoadError when the version cannot be loaded as the server would."""
    started = time.perf_counter()
    ref, artifact_uri = RegistrySource(settings).resolve_version(job.version)
    runtime = InProcessRuntime(settings)
    runtime.load(ref, artifact_uri)  # here too: the columns and classes, and a failure before any worker
    info = runtime.info
    kept = [job.id_column] if job.id_column else []
    s3 = S3Access.of(settings)
    if stamp(job.input_uri, s3) is None:
        raise BatchInputError(f"no input file {job.input_uri}")
    names = files.column_names(job.input_uri, s3)
    check_columns(names, info.columns, kept)
    if job.id_column and job.id_column not in names:
        raise BatchInputError(f"the id column {job.id_column!r} is not in the input")
    summary = Summary(ref.model_name, ref.version, ref.run_id)
    tally = _Tally(info)
    output, rejects = files.ParquetOut(job.output_uri, s3), files.ParquetOut(job.rejects_uri, s3)
    typed = not files.is_csv(job.input_uri)
    workers = job.workers or len(os.sched_getaffinity(0))
    try:
        for scored, refused, counted in _scored(job, settings, ref, artifact_uri, runtime, workers, typed):
            if scored is not None:
                output.write(scored)
                tally.add(scored.column(PREDICTION))
            if refused is not None:
                rejects.write(refused)
                summary.first_reject = summary.first_reject or refused.column("reason")[0].as_py()
            summary.rows += counted
    except BaseException:
        output.discard()
        rejects.discard()
        raise
    summary.output_sha256, summary.rejects_sha256 = output.commit(), rejects.commit()
    summary.scored, summary.rejected = output.rows, rejects.rows
    summary.predictions = tally.summary()
    summary.seconds = time.perf_counter() - started
    return summary


def _scored(
    job: BatchJob,
    settings: Settings,
    ref: ModelRef,
    artifact_uri: str,
    runtime: InProcessRuntime,
    workers: int,
    typed: bool,
):
    """(scored rows, refused rows or None, rows read) per chunk, in the input's order."""
    chunks = _numbered(files.chunks(job.input_uri, S3Access.of(settings), runtime.info.columns, job.chunk_rows))
    if workers <= 1:
        for first, chunk in chunks:
            yield score_chunk(runtime, chunk, first, typed, job.id_column)
        return
    # the parent has threads (pyarrow's): never fork it. A fork server imports the scorer once
    # (~1.9 s of CPU) and each worker is forked from it, instead of each importing it anew
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(workers, context, initializer=_start, initargs=(settings, ref, artifact_uri)) as pool:
        window: deque[Future] = deque()
        for first, chunk in chunks:
            window.append(pool.submit(_score_in_worker, chunk, first, typed, job.id_column))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _numbered(chunks: Iterator[pa.Table]) -> Iterator[tuple[int, pa.Table]]:
    first = 0
    for chunk in chunks:
        yield first, chunk
        first += chunk.num_rows


def score_chunk(
    runtime: InProcessRuntime, chunk: pa.Table, first_row: int, typed: bool, id_column: str | None
) -> tuple[pa.Table | None, pa.Table | None, int]:
    """One chunk's predictions (with the id or the model's columns, and who scored them; None when
    every row was refused) and its refused rows with their reasons (None: none)."""
    info = runtime.info
    checked = check_rows(chunk, info.columns, first_row, typed)
    refused = None
    if not checked.accepted.all():
        rows = np.flatnonzero(~checked.accepted)
        refused_columns = {"row": pa.array(rows + first_row, type=pa.int64())}
        if id_column:
            refused_columns[id_column] = chunk.column(id_column).take(pa.array(rows))
        refused_columns["reason"] = pa.array(checked.reasons[rows].tolist(), type=pa.string())
        refused = pa.table(refused_columns)
    n = len(checked.frame)
    if not n:
        return None, refused, chunk.num_rows
    x = checked.frame.to_numpy(dtype=np.float64) if info.positional else checked.frame
    if id_column:
        columns: dict[str, Any] = {id_column: chunk.column(id_column).filter(pa.array(checked.accepted))}
    else:  # typed by the model's columns: a chunk whose strings are all null is still a string column
        columns = {c.name: pa.array(checked.frame[c.name], type=_TYPES[c.kind], from_pandas=True) for c in info.columns}
    if info.classes is None:
        columns[PREDICTION] = pa.array(np.asarray(runtime.predict(x)))
    else:
        predictions, probabilities = runtime.predict_with_proba(x)
        columns[PREDICTION] = pa.array(predictions)
        for j, label in enumerate(info.classes):
            columns[f"probability_{label}"] = pa.array(probabilities[:, j], type=pa.float64())
    ref = info.ref
    for name, value in zip(MODEL_COLUMNS, (ref.model_name, ref.version, ref.run_id), strict=True):
        columns[name] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value]))
    return pa.table(columns), refused, chunk.num_rows


_TYPES = {"number": pa.float64(), "string": pa.string(), "boolean": pa.bool_()}


class _Tally:
    """The predictions' summary, a chunk at a time: counts per class, or a regression's spread."""

    def __init__(self, info: RuntimeInfo):
        self.classifier = info.classes is not None
        self.counts: dict[str, int] = {}
        self.n, self.total, self.low, self.high = 0, 0.0, np.inf, -np.inf

    def add(self, predictions: pa.ChunkedArray) -> None:
        if self.classifier:
            for entry in predictions.value_counts().to_pylist():
                key = str(entry["values"])
                self.counts[key] = self.counts.get(key, 0) + entry["counts"]
            return
        values = predictions.to_numpy()
        if len(values):
            self.n += len(values)
            self.total += float(values.sum())
            self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))

    def summary(self) -> dict[str, Any]:
        if self.classifier:
            return dict(sorted(self.counts.items()))
        if not self.n:
            return {}
        return {"mean": self.total / self.n, "min": self.low, "max": self.high}


_worker: InProcessRuntime | None = None


def _start(settings: Settings, ref: ModelRef, artifact_uri: str) -> None:
    """A worker's start: the version loaded once, as the server loads it; its BLAS in one thread
    (a worker per core: OpenBLAS's own threads in each one made 10M rows 2.2 s slower here)."""
    from threadpoolctl import threadpool_limits

    global _worker
    threadpool_limits(1)
    runtime = InProcessRuntime(settings)
    runtime.load(ref, artifact_uri)
    _worker = runtime


def _score_in_worker(chunk: pa.Table, first_row: int, typed: bool, id_column: str | None):
    return score_chunk(_worker, chunk, first_row, typed, id_column)
