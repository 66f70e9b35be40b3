"""1,000 simulated ramps per case, decided every 30 s (the sensor: every 5 s), with the default
steps (1, 5, 25, 50 %), margin (0.005) and minimum exposure (10 minutes) at 200 requests a second:
equal variants are aborted by mistake in at most 5% of ramps (binomial slack of three standard
errors); a challenger with twice the error rate is aborted before its share exceeds 5% in at least
95%; 30 minutes without traffic neither promote nor abort."""

from __future__ import annotations

import math

from core_assets.release.ramp import HOLDING
from core_assets.release.ramp_simulation import Ramp, Scenario, outcomes, summary

RUNS = 1_000
SLACK = 3 * math.sqrt(0.05 * 0.95 / RUNS)


def test_equal_variants_are_rarely_aborted_and_reach_promotion():
    found = summary(outcomes(Scenario(200, error_a=0.01, error_b=0.01), Ramp(), RUNS, seed=1))
    print(f"equal variants: {found}")
    assert found["aborted"] <= 0.05 + SLACK
    assert found["promoted"] >= 0.9  # the rest still holding after 3 simulated hours


def test_twice_the_error_rate_is_aborted_before_its_share_exceeds_5_percent():
    found = summary(outcomes(Scenario(200, error_a=0.01, error_b=0.02), Ramp(), RUNS, seed=2))
    print(f"twice the errors: {found}")
    assert found["aborted_at_most_5pct"] >= 0.95 - SLACK and found["promoted"] == 0


def test_no_traffic_holds_the_first_step_saying_why():
    results = outcomes(Scenario(0, minutes=30), Ramp(), RUNS, seed=3)
    assert summary(results)["holding"] == 1.0
    assert {r.share for r in results} == {1} and all(r.reason.startswith(HOLDING) for r in results)
