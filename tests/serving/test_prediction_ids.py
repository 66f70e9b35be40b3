"""Prediction ids: a time prefix, then 128 random bits from the pool, all distinct across refills."""

from __future__ import annotations

import time

from serving.prediction_ids import POOL_BYTES, RANDOM_HEX, PredictionIds


def test_ids_are_128_random_bits_after_the_time_and_never_repeat_across_refills():
    ids = PredictionIds()
    before = time.time_ns() // 1000
    drawn = [ids.new() for _ in range(3 * POOL_BYTES * 2 // RANDOM_HEX + 5)]
    after = time.time_ns() // 1000
    assert all(len(i) == 46 and int(i, 16) >= 0 for i in drawn)
    assert all(before <= int(i[:14], 16) <= after for i in drawn)
    assert len(set(drawn)) == len(drawn)
    assert [i[:14] for i in drawn] == sorted(i[:14] for i in drawn)
    # the random parts of neighbours share no structure (no counter inside)
    randoms = [i[14:] for i in drawn]
    assert sum(a[:16] == b[:16] for a, b in zip(randoms, randoms[1:], strict=False)) == 0
