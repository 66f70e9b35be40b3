"""The drift test's guarantees, simulated on the churn example's data: unchanged streams alarm
within the false-alarm budget however often looked at; a moderate shift is found soon after it
starts; a significant but negligible shift never alarms."""

from __future__ import annotations

import numpy as np
import pytest

from bench.drift import ALPHA, MIN_EFFECT, calibration
from optional_layers.drift.sequential import ColumnTest, log_threshold, psi, smoothed


@pytest.fixture(scope="module")
def measured() -> dict:
    """The bench's calibration (`./mlops bench --suites drift`): 400 unchanged streams of 20,000
    rows looked at every 250 (80 looks each, 6 columns), 200 shifted streams of each kind."""
    return calibration(streams=400, power_streams=200)


def test_unchanged_streams_alarm_within_the_budget(measured):
    assert measured["streams"] == 400 and measured["rows"] == 20_000 and measured["look_rows"] == 250
    assert measured["false_alarms"] <= ALPHA + 0.02


@pytest.mark.parametrize("shift", ["monthly_charges +0.5 sd", "plan: basic +20 points"])
def test_a_moderate_shift_is_found_soon_after_it_starts(measured, shift):
    found = measured["power"][shift]
    assert found["streams"] == 200 and found["detected"] >= 0.95
    assert found["median_delay_rows"] <= 1_500


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
