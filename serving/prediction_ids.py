"""The ids the server issues for recorded predictions (`x-prediction-id`): the time in microseconds
(14 hex digits) followed by 128 bits from the operating system's CSPRNG, so no
caller can choose, guess or predict one from another; the time adds nothing to guess.

Why the time first: the outcome store keeps predictions a row per written batch and finds one by
the time its id starts with (`optional_layers.evaluation.store.ID_PREFIX`). Random bytes are drawn
4 KiB at a time, as hex: `secrets.token_hex` makes a system call per id (~0.6-1.3 us here);
slicing the hex of a pool costs ~0.1 us (hex per id: 0.2 us more). The pool lives on the event
loop only (one draw at a time).
"""

from __future__ import annotations

import os
import time

RANDOM_HEX = 32  # 128 bits
POOL_BYTES = 4096


class PredictionIds:
    def __init__(self) -> None:
        self._pool = ""
        self._next = 0

    def new(self) -> str:
        start = self._next
        if start + RANDOM_HEX > len(self._pool):
            self._pool, start = os.urandom(POOL_BYTES).hex(), 0
        self._next = start + RANDOM_HEX
        return "%014x%s" % (time.time_ns() // 1000, self._pool[start : start + RANDOM_HEX])  # noqa: UP031 (half an f-string's cost)
