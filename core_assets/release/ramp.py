"""The ramp's decision, read after every batch of evidence: advance B to the next share, promote it
after the last, abort it, or hold.

Each guardrail compares what B does with what A does during the current step (both aliases in the
same minutes: counted since the ramp began, B's observations would come mostly from later steps
than A's, and any trend over time, of load or of the day, would read as a difference between
them; measured with real processes, an exact copy of the champion then read as slower at 25%).
One confidence sequence per guardrail and step (`mlops_base.always_valid`), each at
alpha / (guardrails x steps), so the chance of any wrong abort over the whole ramp, however often
it is read, stays within alpha:
- **abort** as soon as one guardrail's interval of "how much worse B is" lies above zero;
- **advance** when the step has lasted `min_exposure_s` and every guardrail that has data shows B
  not worse than A by more than the margin (its interval lies below it);
- **hold** otherwise: no data, too little, not long enough, or a verdict that rests on one
  source's observations (outcomes someone sent: `RampObservations.without_each_source`).
  Holding never promotes and never aborts, so a service without traffic keeps its champion and
  its challenger's share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

from layer_api.hookspecs import RampGuardrail, RampObservations
from mlops_base.always_valid import Arm, difference_interval
from mlops_base.ramp import RampState

GUARDRAILS: tuple[RampGuardrail, ...] = get_args(RampGuardrail)
Action = Literal["advance", "promote", "abort", "hold"]
Verdict = Literal["worse", "not worse", "not yet known", "no data"]
HOLDING = "holding: not enough evidence"


class Evidence(NamedTuple):
    """A layer's observations of one guardrail during the step, and how much worse B may be there
    (`margin`, in the observations' units)."""

    observed: RampObservations
    margin: float


@dataclass(frozen=True)
class Reading:
    guardrail: RampGuardrail
    verdict: Verdict
    worse_by: tuple[float, float] | None  # the interval of how much worse B is than A (None: no data)
    margin: float
    champion: Arm
    challenger: Arm
    one_source: bool = False  # the verdict the interval shows rests on one source's observations

    def describe(self) -> str:
        if self.worse_by is None:
            return f"{self.guardrail}: no data"
        low, high = self.worse_by
        verdict = f"{self.verdict} (it does not hold without one source)" if self.one_source else self.verdict
        return (
            f"{self.guardrail}: B {self.challenger.mean:.4g} (n={self.challenger.n}) vs A {self.champion.mean:.4g} "
            f"(n={self.champion.n}), B worse by [{low:+.4g}, {high:+.4g}] (margin {self.margin:g}): {verdict}"
        )


@dataclass(frozen=True)
class RampDecision:
    action: Action
    step: int  # the step B is on after the decision
    readings: tuple[Reading, ...]
    reason: str


def _judged(observed: RampObservations, a: Arm, b: Arm, margin: float, alpha: float) -> tuple[Verdict, tuple]:
    low, high = difference_interval(a, b, alpha, observed.bounded)
    worse_by = (low, high) if observed.higher_is_worse else (-high, -low)
    if worse_by[0] > 0:
        return "worse", worse_by
    return ("not worse" if worse_by[1] < margin else "not yet known"), worse_by


def read(evidence: Evidence, alpha: float) -> Reading:
    """The guardrail's verdict at `alpha` (its share of the ramp's); "not yet known" when a verdict
    does not hold without one source's observations."""
    observed, margin = evidence
    a, b = observed.champion, observed.challenger
    if a.n < 1 or b.n < 1:
        return Reading(observed.guardrail, "no data", None, margin, a, b)
    verdict, worse_by = _judged(observed, a, b, margin, alpha)
    if verdict != "not yet known" and any(
        min(a_out.n, b_out.n) < 1 or _judged(observed, a_out, b_out, margin, alpha)[0] != verdict
        for a_out, b_out in observed.without_each_source
    ):
        return Reading(observed.guardrail, "not yet known", worse_by, margin, a, b, one_source=True)
    return Reading(observed.guardrail, verdict, worse_by, margin, a, b)


def decide(
    state: RampState,
    evidence: Sequence[Evidence],
    steps: Sequence[int],
    now: float,
    min_exposure_s: float,
    alpha: float = 0.05,
) -> RampDecision:
    """What the ramp does now, with the readings and a reason a person can check."""
    readings = tuple(read(e, alpha / (len(GUARDRAILS) * len(steps))) for e in evidence)
    worse = [r for r in readings if r.verdict == "worse"]
    share = steps[state.step]
    if worse:
        return RampDecision(
            "abort", state.step, readings, f"abort at {share}%: " + "; ".join(map(Reading.describe, worse))
        )
    lasted = now - state.since
    if lasted < min_exposure_s:
        why = f"holding at {share}%: {lasted:.0f} s of the {min_exposure_s:.0f} s each step lasts at least"
        return RampDecision("hold", state.step, readings, why)
    with_data = [r for r in readings if r.verdict != "no data"]
    short = [r for r in with_data if r.verdict != "not worse"]
    if not with_data or short:
        detail = "; ".join(map(Reading.describe, short)) if with_data else "no observations of both aliases"
        return RampDecision("hold", state.step, readings, f"{HOLDING} at {share}% ({detail})")
    evidence_text = "; ".join(map(Reading.describe, with_data))
    if state.step + 1 >= len(steps):
        return RampDecision("promote", state.step, readings, f"promote after {share}%: {evidence_text}")
    return RampDecision("advance", state.step + 1, readings, f"{share}% -> {steps[state.step + 1]}%: {evidence_text}")
