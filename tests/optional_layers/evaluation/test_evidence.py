"""What a decision may rest on: routed traffic only, several sources, none above its share, and a
decision that holds without any one source."""

from __future__ import annotations

from optional_layers.evaluation.evidence import Evidence
from optional_layers.evaluation.report import evaluation
from optional_layers.evaluation.store import Outcome

SERVED = {"A": "1", "B": "2"}


def _outcomes(source: str, n: int, champion_right: bool, challenger_right: bool, routed=True, start=0.0):
    """n outcomes a side from `source`: each variant's answer right or wrong."""
    return [
        Outcome(alias, version, 1, 1 if right else 0, start + i, source, routed)
        for i in range(n)
        for alias, version, right in (("A", "1", champion_right), ("B", "2", challenger_right))
    ]


def _judge(outcomes, evidence=Evidence(min_sources=2, max_source_share=0.5)):
    return evaluation("classification", outcomes, SERVED, 0.05, 30, 0.5, evidence)


def test_one_source_however_many_outcomes_decides_nothing():
    flipped = _outcomes("attacker", 10_000, champion_right=True, challenger_right=False)
    judged = _judge(flipped)["comparison"]
    assert judged["decision"] == "not yet known"
    assert judged["sources"] == {"attacker": {"sent": 20_000, "counted": 20_000}}
    assert judged["difference"] == -1.0  # what it says, shown; not acted on
    assert "EVALUATION_MIN_SOURCES=2" in judged["why"]


def test_a_source_counts_for_at_most_its_share():
    honest = _outcomes("labelling", 100, True, True) + _outcomes("support", 100, True, True, start=0.5)
    flood = _outcomes("crm", 5_000, True, False, start=1.0)
    judged = _judge(honest + flood)["comparison"]
    assert judged["sources"]["crm"] == {"sent": 10_000, "counted": 400}  # as many as the others together
    assert judged["sources"]["labelling"]["counted"] == 200


def test_honest_sources_decide_and_addressed_traffic_is_left_out():
    better = _outcomes("labelling", 200, False, True) + _outcomes("support", 200, False, True, start=0.5)
    addressed = _outcomes("labelling", 5_000, True, False, routed=False, start=2.0)
    judged = _judge(better + addressed)
    assert judged["comparison"]["decision"] == "better"
    assert sum(v["addressed"] for v in judged["variants"]) == 10_000


def test_one_lying_source_among_honest_ones_blocks_a_decision_it_cannot_make():
    """Honest sources see the challenger better; a third floods labels that call it worse: with 60%
    of the evidence counted it outweighs them, but without it the others disagree: no decision."""
    honest = _outcomes("labelling", 200, False, True) + _outcomes("support", 200, False, True, start=0.5)
    lying = _outcomes("crm", 5_000, True, False, start=1.0)
    judged = _judge(honest + lying, Evidence(min_sources=2, max_source_share=0.6))["comparison"]
    assert judged["difference"] < 0 and judged["sources"]["crm"]["counted"] == 1_200
    assert judged["decision"] == "not yet known"
    assert "without the outcomes of source 'crm' the evidence says 'better'" in judged["why"]
    assert _judge(honest)["comparison"]["decision"] == "better"
