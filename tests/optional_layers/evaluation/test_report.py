"""What a model card says of a version's fed-back outcomes and the judgement it is part of."""

from __future__ import annotations

from optional_layers.evaluation.report import card_line


def _report(difference: float | None, decision: str) -> dict:
    return {
        "metric": "accuracy",
        "variants": [
            {"variant": "A", "version": "1", "outcomes": 1200, "metric": 0.9},
            {"variant": "B", "version": "2", "outcomes": 1100, "metric": 0.95},
            {"variant": "B", "version": "1", "outcomes": 30, "metric": None},
        ],
        "comparison": {
            "champion": {"version": "1"},
            "challenger": {"version": "2"},
            "difference": difference,
            "difference_interval": [None, None] if difference is None else [0.02, 0.08],
            "decision": decision,
        },
    }


def test_each_alias_a_version_answered_on_and_the_judgement_it_is_part_of():
    judged = _report(0.05, "better")
    assert card_line(judged, "2") == (
        "1,100 outcomes on B, accuracy 0.950; against champion v1: better, difference 0.050 [0.020, 0.080]"
    )
    assert card_line(judged, "1") == (
        "1,200 outcomes on A, accuracy 0.900; 30 outcomes on B, accuracy unknown; "
        "challenger v2 against it: better, difference 0.050 [0.020, 0.080]"
    )
    assert card_line(_report(None, "not yet known"), "2") == (
        "1,100 outcomes on B, accuracy 0.950; against champion v1: not yet known"
    )
    assert card_line(judged, "5") == "no outcome of v5 fed back (in the store now)"
