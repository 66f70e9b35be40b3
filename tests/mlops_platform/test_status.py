"""`mlops status`'s ramp lines, read from the registered model's tags as the registry returns them."""

from __future__ import annotations

import json

from mlops_base.ramp import DECISION_TAG, RAMP_TAG, RampState
from mlops_base.registry_rest import RegisteredModel
from mlops_platform.status import ramp_lines

STEPS = (1, 5, 25, 50)


def test_the_ramp_of_the_challenger_served_and_its_last_decision_are_shown():
    state = RampState("7", "6", 1, 1_800_000_000.0, 1_799_999_000.0)
    decision = {"action": "hold", "challenger": "7", "champion": "6", "at": 1_800_000_030.0, "reason": "holding: x"}
    tags = {RAMP_TAG: state.to_tag(), DECISION_TAG: json.dumps(decision)}
    lines = ramp_lines(RegisteredModel({"A": "6", "B": "7"}, tags), STEPS)
    assert lines == [
        "ramp: B v7 against A v6 at 5% (step 2 of 4: 1%, 5%, 25%, 50%) since 2027-01-15 08:00:00",
        "  last decision (2027-01-15 08:00:30): hold: holding: x",
    ]


def test_no_ramp_or_one_about_another_challenger_shows_nothing():
    tags = {RAMP_TAG: RampState("7", "6", 1, 0.0, 0.0).to_tag()}
    assert ramp_lines(RegisteredModel({"A": "6", "B": "8"}, tags), STEPS) == []
    assert ramp_lines(RegisteredModel({"A": "6", "B": "7"}, {}), STEPS) == []
