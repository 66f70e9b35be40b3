"""The always-valid interval: wider than a fixed-sample one (it may be read at every sample size),
narrower with more data, and counts of a Bernoulli stream read as an arm."""

from __future__ import annotations

import math

import pytest

from mlops_base.always_valid import Arm, difference_interval, half_width


def test_the_always_valid_interval_is_wider_than_the_fixed_sample_one_and_narrows_with_data():
    fixed = 1.96 * math.sqrt(0.01)
    assert half_width(0.01, 0.01, 0.05) > fixed
    assert half_width(0.001, 0.01, 0.05) < half_width(0.01, 0.01, 0.05)


def test_counts_are_an_arm_and_their_difference_is_bracketed():
    errors = Arm.of_counts(1_000, 20)
    assert errors == Arm(1_000, 0.02, pytest.approx(0.02 * 0.98 * 1_000 / 999))
    assert math.isnan(Arm.of_counts(0, 0).mean)
    low, high = difference_interval(Arm.of_counts(100_000, 1_000), errors, alpha=0.05, bounded=True)
    assert low < 0.01 < high  # 2% against 1%
    tighter = difference_interval(Arm.of_counts(100_000, 1_000), Arm.of_counts(10_000, 200), 0.05, True)
    assert low < tighter[0] < tighter[1] < high
