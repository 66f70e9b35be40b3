"""Micro-batching: concurrent small requests to one model scored in one predict call.

A model's predict has a fixed cost per call (scikit-learn's input checks are ~0.2 ms here, more
than scoring 32 iris rows), so under concurrency one call for many requests is much cheaper than
one each. A request joins the open batch; the batch is scored when it holds `max_rows` rows, or
`max_wait` after it opened; with no wait, at the event loop's next turn, so only requests that
are already waiting join and a lone request is scored at once. Each caller gets exactly its own
rows back; if the shared call fails, every request is scored alone, so one caller's problem is
never another's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from anyio import to_thread

from serving.runtimes.base import RuntimeUnavailable

# Requests this large go to a worker thread, so they never hold up the event loop.
THREAD_MIN_ROWS = 2_000

Predict = Callable[[np.ndarray], Any]
PredictAsync = Callable[[np.ndarray], Awaitable[Any]]


@dataclass
class BatchStats:
    """Shared by the batchers of all runtimes: how much batching saves (shown in /health)."""

    requests: int = 0
    predict_calls: int = 0


class MicroBatcher:
    """Runs on the event loop only; one per loaded runtime.

    With `predict_async` (a runtime that calls a server, Triton), batches are awaited instead of
    called: a shared call then also shares the client's cost per call (HTTP, encoding), which is
    larger than scoring a few rows.
    """

    def __init__(
        self,
        predict: Predict,
        max_rows: int,
        max_wait_us: int,
        stats: BatchStats,
        predict_async: PredictAsync | None = None,
    ):
        self._predict = predict
        self._predict_async = predict_async
        self._max_rows = max_rows
        self._max_wait_s = max_wait_us / 1_000_000
        self._stats = stats
        self._pending: list[tuple[np.ndarray, asyncio.Future]] = []
        self._pending_rows = 0
        self._flush_handle: asyncio.Handle | None = None
        self._tasks: set[asyncio.Future] = set()

    async def predict(self, rows: np.ndarray) -> Any:
        if len(rows) >= self._max_rows:  # also: batching off (max_rows 0)
            self._stats.requests += 1
            self._stats.predict_calls += 1
            if self._predict_async is not None:
                return await self._predict_async(rows)
            if len(rows) >= THREAD_MIN_ROWS:
                return await to_thread.run_sync(self._predict, rows)
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
        return await future

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        batch, self._pending, self._pending_rows = self._pending, [], 0
        self._stats.requests += len(batch)
        if self._predict_async is not None:
            task = asyncio.ensure_future(self._score_async(batch))
            self._tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._tasks.discard)
            return
        if len(batch) > 1:
            self._stats.predict_calls += 1
            try:
                predictions = self._predict(np.concatenate([rows for rows, _ in batch]))
            except RuntimeUnavailable as exc:  # the same for every request: no point retrying each
                _fail(batch, exc)
                return
            except Exception:
                pass
            else:
                _share(batch, predictions)
                return
        for rows, future in batch:
            self._stats.predict_calls += 1
            try:
                result = self._predict(rows)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)

    async def _score_async(self, batch: list[tuple[np.ndarray, asyncio.Future]]) -> None:
        assert self._predict_async is not None
        if len(batch) > 1:
            self._stats.predict_calls += 1
            try:
                predictions = await self._predict_async(np.concatenate([rows for rows, _ in batch]))
            except RuntimeUnavailable as exc:
                _fail(batch, exc)
                return
            except Exception:
                pass
            else:
                _share(batch, predictions)
                return
        self._stats.predict_calls += len(batch)
        results = await asyncio.gather(*(self._predict_async(rows) for rows, _ in batch), return_exceptions=True)
        for (_, future), result in zip(batch, results, strict=False):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


def _share(batch: list[tuple[np.ndarray, asyncio.Future]], predictions: Any) -> None:
    """Each request of a shared call gets exactly its own rows' predictions."""
    start = 0
    for rows, future in batch:
        if not future.done():  # the client may have gone
            future.set_result(predictions[start : start + len(rows)])
        start += len(rows)


def _fail(batch: list[tuple[np.ndarray, asyncio.Future]], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
