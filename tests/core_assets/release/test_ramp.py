"""The ramp's decision on given evidence: abort on the first guardrail that shows B worse, hold
while a step is young or the evidence short (never promoting, never aborting), advance when every
guardrail with data shows B within the margin, promote after the last step."""

from __future__ import annotations

from core_assets.release.ramp import HOLDING, Evidence, decide
from layer_api import RampObservations
from mlops_base.always_valid import Arm
from mlops_base.ramp import RampState

STEPS = (1, 5, 25, 50)
STATE = RampState(challenger="7", champion="6", step=0, since=0.0, started=0.0)


def _errors(a: tuple[int, int], b: tuple[int, int], guardrail="errors") -> Evidence:
    return Evidence(RampObservations(guardrail, Arm.of_counts(*a), Arm.of_counts(*b), True, True), 0.005)


def test_a_challenger_with_more_errors_is_aborted_with_the_interval_in_the_reason():
    decision = decide(STATE, [_errors((200_000, 2_000), (4_000, 200))], STEPS, now=60, min_exposure_s=600)
    assert decision.action == "abort" and decision.step == 0
    assert decision.reason.startswith("abort at 1%: errors: B 0.05 (n=4000)") and "B worse by [+" in decision.reason


def test_a_young_step_holds_even_on_good_evidence_and_no_data_holds_after_it():
    good = [_errors((2_000_000, 20_000), (200_000, 2_000))]
    young = decide(STATE, good, STEPS, now=300, min_exposure_s=600)
    assert young.action == "hold" and "300 s of the 600 s" in young.reason
    empty = decide(STATE, [_errors((0, 0), (0, 0)), _errors((0, 0), (0, 0), "latency")], STEPS, 3_600, 600)
    assert empty.action == "hold" and empty.reason.startswith(HOLDING)
    [reading, _] = empty.readings
    assert reading.verdict == "no data" and reading.worse_by is None


def test_short_evidence_holds_naming_the_guardrail_that_is_not_yet_known():
    short = decide(STATE, [_errors((20_000, 200), (200, 2))], STEPS, now=3_600, min_exposure_s=600)
    assert short.action == "hold" and "errors:" in short.reason and "not yet known" in short.reason


def test_enough_evidence_advances_then_the_last_step_promotes():
    good = [_errors((2_000_000, 20_000), (200_000, 2_000)), _errors((0, 0), (0, 0), "latency")]
    advanced = decide(STATE, good, STEPS, now=3_600, min_exposure_s=600)
    assert advanced.action == "advance" and advanced.step == 1 and advanced.reason.startswith("1% -> 5%")
    last = RampState("7", "6", 3, since=0.0, started=0.0)
    promoted = decide(last, good, STEPS, now=3_600, min_exposure_s=600)
    assert promoted.action == "promote" and promoted.reason.startswith("promote after 50%: errors: B 0.01")


def test_a_higher_is_better_guardrail_reads_a_drop_as_worse():
    right = RampObservations("outcome", Arm.of_counts(10_000, 9_500), Arm.of_counts(10_000, 9_000), False, True)
    accuracy = Evidence(right, 0.005)
    assert decide(STATE, [accuracy], STEPS, now=60, min_exposure_s=600).action == "abort"
