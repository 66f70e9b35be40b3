"""The ids the server issues for recorded predictions (`x-prediction-id`): a time in microseconds
(14 hex digits) followed by 128 bits from the operating system's CSPRNG, so no caller can
choose, guess or predict one from another; the time adds nothing to guess.

Why the time first: the outcome store keeps predictions a row per written batch and finds one by
the time its id starts with (`optional_layers.evaluation.store.ID_PREFIX`). Ids are made BLOCK at
a time, on the event loop only: one `os.urandom` and one hex conversion for the block, and the
time read once (a block older than MAX_AGE_S is not used: the time stays within a second of
issue). Formatting an id each request cost ~0.6 us; taking one from a block ~0.1 us.
"""

from __future__ import annotations

import os
import time

RANDOM_HEX = 32  # 128 bits
BLOCK = 128
MAX_AGE_S = 1.0


class PredictionIds:
    def __init__(self) -> None:
        self._block: list[str] = []
        self._made = 0.0

    def new(self) -> str:
        if not self._block or time.monotonic() - self._made > MAX_AGE_S:
            self._refill()
        return self._block.pop()

    def _refill(self) -> None:
        self._made = time.monotonic()
        stamp = f"{time.time_ns() // 1000:014x}"
        pool = os.urandom(BLOCK * RANDOM_HEX // 2).hex()
        # popped from the end: the last made first, all of one time
        self._block = [stamp + pool[i : i + RANDOM_HEX] for i in range(0, len(pool), RANDOM_HEX)]
