"""The ramp's outcome guardrail: how often each alias answered wrong (classification) or how far
off it was (regression: the absolute error) on the predictions it answered during the step, from
the outcomes fed back so far.

Outcomes are labels someone sends, so the judgement's rules of evidence hold here too: routed
traffic only, enough sources, none above its share, and the arms without each source, so that the
ramp acts only on a verdict no single source (feedback credential) makes alone."""

from __future__ import annotations

from layer_api import RampObservations
from mlops_base.always_valid import Arm
from optional_layers.evaluation.evidence import Evidence
from optional_layers.evaluation.judgement import Task, scores
from optional_layers.evaluation.store import Outcome


def _losses(task: Task, outcomes: list[Outcome]) -> list[float]:
    """Per outcome, higher is worse: 1 for a wrong class, else the absolute error."""
    scored = scores(task, [o.prediction for o in outcomes], [o.label for o in outcomes]) if outcomes else []
    return [1.0 - s for s in scored] if task == "classification" else list(scored)


def outcome_evidence(
    outcomes: list[Outcome], task: Task, champion: str, challenger: str, evidence: Evidence
) -> list[RampObservations]:
    """The outcome guardrail of A at `champion` against B at `challenger`, or [] while the outcomes
    cannot be evidence (none, or too few sources)."""
    sides = (("A", champion), ("B", challenger))
    compared = [o for o in outcomes if o.routed and (o.alias, o.version) in sides]
    if not compared:
        return []
    admitted, sources = evidence.admitted(compared)
    if evidence.lacking(sources) is not None:
        return []

    def arms(kept: list[Outcome]) -> tuple[Arm, Arm]:
        a, b = (Arm.of(_losses(task, [o for o in kept if (o.alias, o.version) == side])) for side in sides)
        return a, b

    counting = [source for source, seen in sources.items() if seen["counted"]]
    without = tuple(arms([o for o in admitted if o.source != source]) for source in counting)
    champion_arm, challenger_arm = arms(admitted)
    return [RampObservations("outcome", champion_arm, challenger_arm, True, task == "classification", without)]
