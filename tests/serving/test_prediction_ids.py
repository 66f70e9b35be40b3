"""Prediction ids: a time prefix, then 128 random bits, all distinct across blocks; a block is never
used once older than MAX_AGE_S."""

from __future__ import annotations

import time

from serving import prediction_ids
from serving.prediction_ids import BLOCK, PredictionIds


def test_ids_are_128_random_bits_after_the_time_and_never_repeat_across_blocks():
    ids = PredictionIds()
    before = time.time_ns() // 1000
    drawn = [ids.new() for _ in range(3 * BLOCK + 5)]
    after = time.time_ns() // 1000
    assert all(len(i) == 46 and int(i, 16) >= 0 for i in drawn)
    assert all(before <= int(i[:14], 16) <= after for i in drawn)
    assert len(set(drawn)) == len(drawn)
    assert [i[:14] for i in drawn] == sorted(i[:14] for i in drawn)
    # the random parts of neighbours share no structure (no counter inside)
    randoms = [i[14:] for i in drawn]
    assert sum(a[:16] == b[:16] for a, b in zip(randoms, randoms[1:], strict=False)) == 0


def test_a_block_older_than_its_age_is_replaced(monkeypatch):
    ids = PredictionIds()
    first = ids.new()
    monkeypatch.setattr(prediction_ids, "MAX_AGE_S", 0.01)
    time.sleep(0.05)
    later = ids.new()
    assert int(later[:14], 16) - int(first[:14], 16) >= 40_000  # a new time: a new block
