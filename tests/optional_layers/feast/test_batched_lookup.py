"""Concurrent entity lookups share online-store reads, each request gets its own rows, and a failed
read fails only the requests it carried. Through Feast's real SQLite and Redis stores and the
model server: test_pipeline.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from optional_layers.feast.batched_lookup import BatchedLookup


def test_concurrent_requests_share_reads_and_each_gets_its_own_rows():
    reads: list[list[int]] = []
    gate = threading.Event()

    def read(ids: list[int]) -> dict[str, list]:
        gate.wait(5)  # the first read holds the worker while the others queue up
        reads.append(ids)
        return {"x": [i * 10 for i in ids], "y": [-i for i in ids]}

    lookup = BatchedLookup(read, "test")
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(lookup.fetch, [n, n + 100]) for n in range(16)]
        gate.set()
        answers = [f.result(5) for f in futures]
    assert answers == [{"x": [n * 10, (n + 100) * 10], "y": [-n, -(n + 100)]} for n in range(16)]
    assert len(reads) < 16  # merged: fewer reads than requests
    assert sorted(i for ids in reads for i in ids) == sorted(i for n in range(16) for i in (n, n + 100))


def test_a_failed_read_fails_its_requests_and_the_next_read_answers():
    calls = []

    def read(ids: list[int]) -> dict[str, list]:
        calls.append(ids)
        if len(calls) == 1:
            raise ConnectionError("redis down")
        return {"x": list(ids)}

    lookup = BatchedLookup(read, "test")
    with pytest.raises(ConnectionError, match="redis down"):
        lookup.fetch([1])
    assert lookup.fetch([2, 3]) == {"x": [2, 3]}
