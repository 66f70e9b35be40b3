"""Streams drawn from a training frame, unchanged or shifted from some row on, run through the
drift tests of its reference profile: how often they alarm, and how late (the suite's and the
bench's calibration and power)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_base.reference_profile import input_profiles
from optional_layers.drift.reference import Bins, bins_of
from optional_layers.drift.sequential import ColumnTest, log_threshold


@dataclass(frozen=True)
class Shift:
    """From row `at` on: a numeric column moved by `sds` standard deviations, or a categorical
    column's `category` made `share` (0.2: 20 points) more frequent."""

    column: str
    at: int
    sds: float = 0.0
    share: float = 0.0
    category: str = ""


def reference_bins(frame: pd.DataFrame, kinds: Mapping[str, str]) -> dict[str, Bins]:
    """The bins of the frame's own profile (its input columns)."""
    return {name: bins_of(column) for name, column in input_profiles(frame, kinds).items()}


def stream(frame: pd.DataFrame, rows: int, rng: np.random.Generator, shift: Shift | None = None) -> pd.DataFrame:
    """`rows` rows drawn with replacement from `frame`, shifted from `shift.at` on."""
    drawn = frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
    if shift is None:
        return drawn
    column = drawn[shift.column].copy()
    if shift.sds:
        column.iloc[shift.at :] = column.iloc[shift.at :] + shift.sds * frame[shift.column].std()
    else:  # each other row turns into the category with the chance that adds `share` to its share
        before = float((frame[shift.column] == shift.category).mean())
        other = (column.iloc[shift.at :] != shift.category).to_numpy()
        turned = np.flatnonzero(other & (rng.random(rows - shift.at) < shift.share / (1 - before))) + shift.at
        column = column.astype(object)
        column.iloc[turned] = shift.category
    drawn[shift.column] = column
    return drawn


def first_alarm(
    bins: Mapping[str, Bins], live: pd.DataFrame, alpha: float, min_effect: float, look_rows: int = 250
) -> int | None:
    """The row count at the first look where any column alarmed, or None."""
    threshold = log_threshold(len(bins), alpha)
    tests = {name: ColumnTest(b.probabilities, threshold, min_effect) for name, b in bins.items()}
    columns = {name: live[name].to_numpy() for name in bins}
    for start in range(0, len(live), look_rows):
        if any([tests[name].update(b.counts(columns[name][start : start + look_rows])) for name, b in bins.items()]):
            return min(t.alarmed_at for t in tests.values() if t.alarmed_at is not None)
    return None
