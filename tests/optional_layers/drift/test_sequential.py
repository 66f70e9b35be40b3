"""The drift test's guarantees, simulated on the churn example's data: unchanged streams alarm
within the false-alarm budget however often looked at; a moderate shift is found soon after it
starts; a significant but negligible shift never alarms."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core_assets.lib.schema import column_kind, normalise
from optional_layers.drift.sequential import ColumnTest, log_threshold, psi, smoothed
from optional_layers.drift.simulation import Shift, first_alarm, reference_bins, stream

CHURN = Path(__file__).resolve().parents[3] / "envs" / "churn-pipeline" / "customers.csv"
ALPHA, MIN_EFFECT = 0.05, 0.1
ROWS, CHANGE = 20_000, 5_000


@pytest.fixture(scope="module")
def churn():
    frame = normalise(pd.read_csv(CHURN).drop(columns="churned"))
    kinds = {name: column_kind(frame[name]) for name in frame.columns}
    return frame, reference_bins(frame, kinds)


def test_unchanged_streams_alarm_within_the_budget(churn):
    """400 streams of 20,000 rows, looked at every 250 (80 looks each, 6 columns)."""
    frame, bins = churn
    rng = np.random.default_rng(0)
    alarms = [first_alarm(bins, stream(frame, ROWS, rng), ALPHA, MIN_EFFECT) for _ in range(400)]
    assert sum(a is not None for a in alarms) / 400 <= ALPHA + 0.02


@pytest.mark.parametrize(
    "shift",
    [Shift("monthly_charges", CHANGE, sds=0.5), Shift("plan", CHANGE, share=0.2, category="basic")],
    ids=["numeric 0.5 sd", "category +20 points"],
)
def test_a_moderate_shift_is_found_soon_after_it_starts(churn, shift):
    frame, bins = churn
    rng = np.random.default_rng(1)
    alarms = [first_alarm(bins, stream(frame, ROWS, rng, shift), ALPHA, MIN_EFFECT) for _ in range(200)]
    delays = [a - CHANGE for a in alarms if a is not None and a > CHANGE]
    assert len(delays) / 200 >= 0.95
    assert statistics.median(delays) <= 1_500


def test_a_significant_but_negligible_shift_never_alarms():
    """Two bins at 50/50 against a stream at 51/49: overwhelming evidence after a million rows, a
    PSI of 0.0016, under the floor."""
    reference = smoothed(np.array([0.5, 0.5]), 1_000_000)
    test = ColumnTest(reference, log_threshold(1, ALPHA), MIN_EFFECT)
    for _ in range(400):
        test.update(np.array([5_100, 4_900]))
    assert test.log_score > log_threshold(1, ALPHA) and test.effect < MIN_EFFECT and test.alarmed_at is None


def test_psi_is_zero_for_the_reference_and_grows_with_the_shift():
    reference = smoothed(np.array([0.25, 0.25, 0.5]), 10_000)
    assert psi(reference, reference * 1e6) == pytest.approx(0.0, abs=1e-6)
    assert psi(reference, np.array([250, 250, 500])) < psi(reference, np.array([400, 100, 500]))
