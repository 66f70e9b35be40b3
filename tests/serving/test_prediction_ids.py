"""Prediction ids drawn from the pool: 128-bit hex, all distinct across pool refills."""

from __future__ import annotations

from serving.prediction_ids import POOL_BYTES, PredictionIds


def test_ids_are_128_random_bits_and_never_repeat_across_refills():
    ids = PredictionIds()
    drawn = [ids.new() for _ in range(3 * POOL_BYTES // 16 + 5)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in drawn)
    assert len(set(drawn)) == len(drawn)
    # neighbours share no structure (no counter inside): their first halves differ
    assert sum(a[:16] == b[:16] for a, b in zip(drawn, drawn[1:], strict=False)) == 0
