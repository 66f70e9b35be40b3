"""Micro-batching: concurrent requests share one predict call and each gets exactly its own rows."""

from __future__ import annotations

import asyncio
import threading

import httpx
import numpy as np
import pytest

from mlops_platform import processes
from serving.batching import BatchStats, MicroBatcher
from serving.runtimes.base import RuntimeUnavailable
from tests.support import start_server


class Recorder:
    """A model whose prediction is the row's first value; rows with a 666 in them are refused."""

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        self.calls.append(len(rows))
        if (rows == 666).any():
            raise ValueError("666 is not a feature value")
        return rows[:, 0].copy()


def _awaited(model: Recorder):
    """An in-process model as the batcher calls every runtime: awaited."""

    async def predict(rows: np.ndarray) -> np.ndarray:
        return model(rows)

    return predict


def _inline(model: Recorder, max_rows: int, max_wait_us: int, stats: BatchStats | None = None) -> MicroBatcher:
    """A batcher of an in-process model: batches scored where they close, without a task."""
    return MicroBatcher(_awaited(model), max_rows, max_wait_us, stats or BatchStats(), inline_rows=2_000)


def _requests(n: int, width: int = 1) -> list[np.ndarray]:
    return [np.full((width, 2), float(i)) for i in range(n)]


async def _score_together(batcher: MicroBatcher, requests: list[np.ndarray]) -> list:
    return await asyncio.gather(*(batcher.predict(rows) for rows in requests), return_exceptions=True)


def test_concurrent_requests_share_one_call_and_get_their_own_rows():
    model, stats = Recorder(), BatchStats()
    requests = _requests(10, width=3)
    answers = asyncio.run(_score_together(_inline(model, 64, 0, stats), requests))
    assert model.calls == [30]
    assert [a.tolist() for a in answers] == [[float(i)] * 3 for i in range(10)]
    assert (stats.requests, stats.predict_calls) == (10, 1)


def test_a_failing_shared_call_fails_only_the_bad_request():
    model = Recorder()
    requests = _requests(4)
    requests[2] = np.array([[666.0, 0.0]])
    answers = asyncio.run(_score_together(_inline(model, 64, 0), requests))
    assert isinstance(answers[2], ValueError)
    assert [answers[i].tolist() for i in (0, 1, 3)] == [[0.0], [1.0], [3.0]]
    assert model.calls == [4, 1, 1, 1, 1]  # the shared call, then each request alone


class AsyncRecorder(Recorder):
    """The same model behind a server (as Triton's runtime): awaited, and down when `down` is set."""

    down = False

    async def __call__(self, rows: np.ndarray) -> np.ndarray:
        await asyncio.sleep(0)
        if self.down:
            self.calls.append(len(rows))
            raise RuntimeUnavailable("the server is down")
        return super().__call__(rows)


def _async_batcher(model: AsyncRecorder) -> MicroBatcher:
    return MicroBatcher(model, 64, 0, BatchStats())


def test_an_async_runtime_gets_one_awaited_call_and_bad_rows_fail_alone():
    model = AsyncRecorder()
    requests = _requests(10, width=3)
    requests[4] = np.full((3, 2), 666.0)
    answers = asyncio.run(_score_together(_async_batcher(model), requests))
    assert isinstance(answers[4], ValueError)
    assert [answers[i].tolist() for i in range(10) if i != 4] == [[float(i)] * 3 for i in range(10) if i != 4]
    assert model.calls == [30] + [3] * 10


class SlowServer(Recorder):
    """A server that takes a few loop turns per call, counting the calls in flight."""

    def __init__(self):
        super().__init__()
        self.in_flight = self.most_in_flight = 0

    async def __call__(self, rows: np.ndarray) -> np.ndarray:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        self.in_flight -= 1
        return super().__call__(rows)


async def _arriving(batcher: MicroBatcher, requests: list[np.ndarray]) -> list:
    """One request per loop turn, as connections' requests come in."""
    waiting = []
    for rows in requests:
        waiting.append(asyncio.ensure_future(batcher.predict(rows)))
        await asyncio.sleep(0)
    return await asyncio.gather(*waiting)


def test_requests_arriving_while_calls_are_in_flight_wait_and_go_in_the_next_call():
    model, stats = SlowServer(), BatchStats()
    batcher = MicroBatcher(model, 64, 0, stats, max_in_flight=2)
    answers = asyncio.run(_arriving(batcher, _requests(20)))
    assert [a.tolist() for a in answers] == [[float(i)] for i in range(20)]
    assert model.most_in_flight == 2 and sum(model.calls) == 20
    assert len(model.calls) <= 8  # uncapped, a call per turn or two (see the next test)
    assert (stats.requests, stats.predict_calls) == (20, len(model.calls))


def test_without_a_cap_each_turn_sends_what_just_arrived():
    model = SlowServer()
    asyncio.run(_arriving(MicroBatcher(model, 64, 0, BatchStats()), _requests(20)))
    assert len(model.calls) > 8 and model.most_in_flight > 2


def test_a_capped_batch_holds_at_most_max_rows():
    model = SlowServer()
    batcher = MicroBatcher(model, 4, 0, BatchStats(), max_in_flight=1)
    answers = asyncio.run(_arriving(batcher, _requests(10, width=2) + [np.zeros((5, 2))]))
    assert answers[-1].tolist() == [0.0] * 5
    assert max(model.calls) == 5 and all(n <= 4 for n in model.calls if n != 5) and sum(model.calls) == 25


def test_a_runtime_that_suspends_although_it_says_it_answers_inline_still_answers_everyone():
    model = AsyncRecorder()
    batcher = MicroBatcher(model, 64, 0, BatchStats(), inline_rows=2_000)
    requests = _requests(10, width=3)
    requests[4] = np.full((3, 2), 666.0)
    answers = asyncio.run(_score_together(batcher, requests))
    assert isinstance(answers[4], ValueError)
    assert [answers[i].tolist() for i in range(10) if i != 4] == [[float(i)] * 3 for i in range(10) if i != 4]


@pytest.mark.parametrize(("inline_rows", "in_a_task"), [(2_000, False), (0, True)], ids=["inline", "awaits"])
def test_an_inline_batch_is_scored_where_it_closes_and_any_other_in_a_task(inline_rows, in_a_task):
    seen: list[bool] = []

    async def predict(rows: np.ndarray) -> np.ndarray:
        seen.append(asyncio.current_task() is not None)
        return rows[:, 0].copy()

    batcher = MicroBatcher(predict, 64, 0, BatchStats(), inline_rows=inline_rows)
    answers = asyncio.run(_score_together(batcher, _requests(3)))
    assert [a.tolist() for a in answers] == [[0.0], [1.0], [2.0]]
    assert seen == [in_a_task]  # one shared call


def test_a_server_down_fails_the_whole_batch_at_once_without_retrying_each():
    model = AsyncRecorder()
    model.down = True
    answers = asyncio.run(_score_together(_async_batcher(model), _requests(8)))
    assert all(isinstance(a, RuntimeUnavailable) for a in answers)
    assert model.calls == [8]


def test_batches_close_at_max_rows_and_large_requests_go_alone():
    model = Recorder()
    answers = asyncio.run(_score_together(_inline(model, 4, 0), _requests(6) + [np.zeros((5, 2))]))
    assert sorted(model.calls) == [2, 4, 5]
    assert answers[-1].tolist() == [0.0] * 5


def test_batching_off_scores_each_request_alone():
    model = Recorder()
    asyncio.run(_score_together(_inline(model, 0, 0), _requests(5)))
    assert model.calls == [1] * 5


def test_a_request_waits_up_to_max_wait_for_others():
    model = Recorder()
    batcher = _inline(model, 64, 50_000)

    async def staggered():
        first = asyncio.ensure_future(batcher.predict(np.zeros((1, 2))))
        await asyncio.sleep(0.01)  # well inside the 50 ms window
        second = await batcher.predict(np.ones((1, 2)))
        return (await first).tolist(), second.tolist()

    assert asyncio.run(staggered()) == ([0.0], [1.0])
    assert model.calls == [2]


@pytest.mark.timeout(300)
def test_a_real_server_under_concurrency_batches_and_answers_each_client_its_own_rows(
    mlflow_server, shared_model, tmp_path
):
    server = start_server(
        tmp_path,
        {
            "MLFLOW_TRACKING_URI": mlflow_server,
            "MODEL_NAME": shared_model.name,
            "BATCH_MAX_ROWS": "64",
            "BATCH_MAX_WAIT_US": "20000",
        },
    )
    rng = np.random.default_rng(0)
    rows = np.round(rng.uniform([4, 2, 1, 0], [8, 4.5, 7, 2.5], size=(200, 4)), 2).tolist()
    try:
        expected = httpx.post(f"{server.url}/variant/A/predict", json={"data": rows}, timeout=30).json()["predictions"]
        answers: dict[int, int] = {}

        def client(worker: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for i in range(worker, len(rows), 16):
                    answer = http.post("/variant/A/predict", json={"data": [rows[i]]})
                    answers[i] = answer.json()["predictions"][0]

        threads = [threading.Thread(target=client, args=(w,)) for w in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [answers[i] for i in range(len(rows))] == expected
        batching = httpx.get(f"{server.url}/health", timeout=10).json()["batching"]
        assert batching["requests"] >= len(rows) + 1
        assert batching["predict_calls"] < batching["requests"]  # some requests shared a call
    finally:
        processes.stop(server)
