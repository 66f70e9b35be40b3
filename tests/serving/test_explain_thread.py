"""The explain thread: one thread, at the lowest CPU priority where a thread can have its own
(Linux), the server's event loop and its other threads left at theirs."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from serving.explain_thread import ExplainThread
from serving.explain_worker import NICE


def _where() -> tuple[int, int]:
    return threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="a thread has a priority of its own on Linux only")
def test_explanations_run_in_one_thread_at_the_lowest_priority():
    async def main():
        explaining = ExplainThread()
        try:
            first, second = await explaining.run(_where), await explaining.run(_where)
        finally:
            explaining.close()
        return first, second, _where()

    first, second, loop = asyncio.run(main())
    assert first == second  # the same thread each time
    assert first[1] == NICE
    assert loop[1] == os.getpriority(os.PRIO_PROCESS, 0) < NICE  # the event loop's thread untouched


def test_a_cancelled_explanation_is_not_waited_for_and_the_next_runs():
    release = threading.Event()

    async def main():
        explaining = ExplainThread()
        try:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await explaining.run(release.wait)
            release.set()
            return await explaining.run(lambda x: x * 2, 21)
        finally:
            explaining.close()

    assert asyncio.run(main()) == 42
