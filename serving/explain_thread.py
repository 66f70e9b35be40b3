"""The one thread of the model server that computes explanations, at the lowest CPU priority.

LightGBM's and XGBoost's TreeSHAP and the linear explainers run in this process (in C and numpy,
the GIL released around their calls: a hop to the worker process costs the server more). At the
server's own priority, each one took its core from /predict for a millisecond or two: /predict's
p99 rose by a fifth under explain load (`./mlops bench --suites explain`). Linux gives a thread a
priority of its own, so at nice 19 the kernel runs /predict's event loop first whenever it has
work, and the explanation takes what answering leaves. Where a thread cannot have its own priority
(not Linux), it runs at the server's.

One thread: explanations run one at a time, in order (the server's explain limit), and the Python
explainers' calls to the worker process wait here, not in the thread pool other work uses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from serving.explain_worker import NICE

T = TypeVar("T")
_log = logging.getLogger("serving.explain_thread")


def _lowest_priority() -> None:
    """This thread at nice 19 (Linux: setpriority on a thread id names that thread only)."""
    if sys.platform != "linux":  # elsewhere the id is no process id: setpriority could name another
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except OSError as exc:  # e.g. a seccomp profile that refuses it: explanations at normal priority
        _log.warning("explanations run at the server's priority: %s", exc)


class ExplainThread:
    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in the thread; cancelled (a timeout), its result is not waited for."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, "explain", initializer=_lowest_priority)
        return await asyncio.wrap_future(self._pool.submit(fn, *args))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
