"""Micro-batching: concurrent small requests to one model scored in one predict call.

A model's predict has a fixed cost per call (scikit-learn's input checks are ~0.2 ms here, more
than scoring 32 iris rows; a Triton call costs its HTTP round trip), so under concurrency one call
for many requests is much cheaper than one each. A request joins the open batch; the batch is
scored when it holds `max_rows` rows, or `max_wait` after it opened; with no wait, at the event
loop's next turn, so only requests that are already waiting join and a lone request is scored at
once. Each caller gets exactly its own rows back; if the shared call fails, every request is
scored alone, so one caller's problem is never another's.

One scoring path for every runtime: `_score` awaits the runtime's `predict_async`. Only how it is
driven differs: a batch the runtime answers in place (in process, under its `inline_rows`) is
scored right in the loop callback that closes it, without a task (measured: a task per batch made
batches smaller and cost ~5% at 32 connections); any other (Triton, a worker thread) in a task.

A runtime that calls a server (Triton) also caps its calls in flight (`max_in_flight`): requests
that arrive meanwhile wait for a call to end and go in the next one. Without the cap, every turn
of the loop sent the few requests that had just arrived, and the per-call cost (an HTTP request
out, Triton's own request, its Python backend's round trip) was paid every two or three rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from serving.runtimes.base import RuntimeUnavailable

PredictAsync = Callable[[Any], Awaitable[Any]]
Pending = list[tuple[Any, asyncio.Future]]  # each request's input (an array or a frame) and its answer


@dataclass
class BatchStats:
    """Shared by the batchers of all runtimes: how much batching saves (shown in /health)."""

    requests: int = 0
    predict_calls: int = 0


class MicroBatcher:
    """Runs on the event loop only; one per loaded runtime.

    `inline_rows`: batches under this many rows are answered by `predict` without suspending
    (0: never, e.g. a runtime that awaits a server). `max_in_flight`: at most this many batches
    scored at once (0: no limit); the others wait for one to end.
    """

    def __init__(
        self,
        predict: PredictAsync,
        max_rows: int,
        max_wait_us: int,
        stats: BatchStats,
        inline_rows: int = 0,
        max_in_flight: int = 0,
    ):
        self._predict = predict
        self._max_rows = max_rows
        self._max_wait_s = max_wait_us / 1_000_000
        self._stats = stats
        self._inline_rows = inline_rows
        self._max_in_flight = max_in_flight
        self._pending: Pending = []
        self._pending_rows = 0
        self._flush_handle: asyncio.Handle | None = None
        self._tasks: set[asyncio.Future] = set()

    def predict(self, rows: Any) -> Awaitable[Any]:
        """What to await for `rows`' predictions: the request's future, or (as many rows as a batch,
        or batching off) the call itself. Not a coroutine: one frame fewer to suspend and resume
        on each request's way through the server."""
        if len(rows) >= self._max_rows:  # also: batching off (max_rows 0)
            self._stats.requests += 1
            self._stats.predict_calls += 1
            return self._predict(rows)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((rows, future))
        self._pending_rows += len(rows)
        if self._pending_rows >= self._max_rows:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = (
                loop.call_later(self._max_wait_s, self._flush) if self._max_wait_s else loop.call_soon(self._flush)
            )
        return future

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._max_in_flight:
            while self._pending and len(self._tasks) < self._max_in_flight:
                self._in_task(self._score(self._take()))  # each ending task flushes what waits
            return
        inline = self._pending_rows < self._inline_rows
        batch, self._pending, self._pending_rows = self._pending, [], 0
        self._stats.requests += len(batch)
        scoring = self._score(batch)
        if not inline:
            self._in_task(scoring)
            return
        try:
            awaited = scoring.send(None)
        except StopIteration:
            return
        self._in_task(_Continue(scoring, awaited).run())  # it suspended after all: a task drives the rest

    def _take(self) -> Pending:
        """The waiting requests, oldest first, up to `max_rows` rows (at least one request)."""
        taken, rows = 0, 0
        while taken < len(self._pending) and (taken == 0 or rows + len(self._pending[taken][0]) <= self._max_rows):
            rows += len(self._pending[taken][0])
            taken += 1
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        self._pending_rows -= rows
        self._stats.requests += len(batch)
        return batch

    def _in_task(self, coroutine: Coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Future) -> None:
        self._tasks.discard(task)
        if self._max_in_flight and self._pending and self._flush_handle is None:
            self._flush()

    async def _score(self, batch: Pending) -> None:
        if len(batch) > 1:
            self._stats.predict_calls += 1
            try:
                predictions = await self._predict(_join([rows for rows, _ in batch]))
            except RuntimeUnavailable as exc:  # the same for every request: no point retrying each
                _fail(batch, exc)
                return
            except Exception:  # each request is retried alone and gets its own error
                pass
            else:
                _share(batch, predictions)
                return
        for rows, future in batch:
            self._stats.predict_calls += 1
            try:
                result = await self._predict(rows)
            except Exception as exc:  # handed to the caller, who maps it to a status
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)


class _Continue:
    """Drives a coroutine that was started by hand and suspended on `awaited`, as a task would: it
    yields what the coroutine yields to the task running this, and sends (or throws) back what the
    task resumes it with."""

    def __init__(self, coroutine: Coroutine, awaited: Any):
        self._coroutine, self._awaited = coroutine, awaited

    async def run(self) -> Any:
        return await self

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, awaited = self._coroutine, self._awaited
        while True:
            try:
                value, error = (yield awaited), None
            except BaseException as exc:  # handed into the coroutine, as a task would
                value, error = None, exc
            try:
                awaited = coroutine.throw(error) if error is not None else coroutine.send(value)
            except StopIteration as stop:
                return stop.value


def _join(parts: list) -> Any:
    """One input of many requests' (arrays, or frames of a named-column model)."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return pd.concat(parts, ignore_index=True)


def _share(batch: Pending, predictions: Any) -> None:
    """Each request of a shared call gets exactly its own rows' predictions."""
    start = 0
    for rows, future in batch:
        if not future.done():  # the client may have gone
            future.set_result(predictions[start : start + len(rows)])
        start += len(rows)


def _fail(batch: Pending, exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
