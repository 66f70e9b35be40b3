"""Where a ramp stands, as one value every process reads the same way: the registered model's tag
`mlops.ramp` holds it, so every replica routes the same share (the alias watch reads it with the
aliases, in the same registry call) and a replica restarted mid-ramp resumes the current step.

A challenger the tag does not name (a new B, or no ramp yet) gets the first step: a new version
never starts with more than the smallest share, whatever the state of an earlier ramp says.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

RAMP_TAG = "mlops.ramp"
DECISION_TAG = "mlops.ramp.decision"  # the ramp sensor's last decision, with each guardrail's interval


@dataclass(frozen=True)
class RampState:
    challenger: str  # B's version being ramped
    champion: str  # A's version it is compared with
    step: int  # index into RAMP_STEPS
    since: float  # when this step began (epoch seconds)
    started: float  # when the ramp began

    def to_tag(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_tag(cls, value: str | None) -> RampState | None:
        """The tag's state; None for no tag or one this version cannot read (the first step then)."""
        if not value:
            return None
        try:
            found = json.loads(value)
            return cls(
                str(found["challenger"]),
                str(found["champion"]),
                int(found["step"]),
                float(found["since"]),
                float(found["started"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def current(state: RampState | None, challenger: str | None) -> RampState | None:
    """The state, if it is about the challenger version B serves (else that version starts afresh)."""
    return state if state is not None and challenger is not None and state.challenger == challenger else None


def step_of(state: RampState | None, challenger: str | None, steps: Sequence[int]) -> int:
    """The step the challenger version is on: the state's, if it is about this version, else 0."""
    found = current(state, challenger)
    return 0 if found is None else min(max(found.step, 0), len(steps) - 1)


def ramp_share(state: RampState | None, challenger: str | None, steps: Sequence[int]) -> int:
    """Percent of traffic the challenger answers now."""
    return steps[step_of(state, challenger, steps)]


def last_decision(tags: dict[str, str], state: RampState | None) -> dict[str, Any] | None:
    """The ramp sensor's last decision, if it is about the ramp `state` describes (else None)."""
    if state is None or not tags.get(DECISION_TAG):
        return None
    try:
        found = json.loads(tags[DECISION_TAG])
    except ValueError:
        return None
    if not isinstance(found, dict) or (found.get("challenger"), found.get("champion")) != (
        state.challenger,
        state.champion,
    ):
        return None
    return found
