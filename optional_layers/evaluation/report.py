"""The judgement of the served champion and challenger over the stored outcomes, per variant and
version, and how the difference developed as outcomes arrived."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from mlops_base.settings import Settings
from optional_layers.evaluation.evidence import Evidence
from optional_layers.evaluation.judgement import Arm, Task, judge, scores
from optional_layers.evaluation.settings import EvaluationSettings
from optional_layers.evaluation.store import Outcome

TEST = (
    "mixture sequential probability ratio test (mSPRT), always-valid confidence sequence; "
    "Johari, Koomen, Pekelis, Walsh: Always Valid Inference, Operations Research 70(3), 2022"
)
HISTORY_POINTS = 200


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 6)


def _interval(pair: tuple[float, float]) -> list[float | None]:
    return [_finite(pair[0]), _finite(pair[1])]


def evaluation(
    task: Task,
    outcomes: list[Outcome],
    served: dict[str, str | None],
    alpha: float,
    min_samples: int,
    mixing_sd: float,
    evidence: Evidence = Evidence(),
    history: bool = False,
) -> dict[str, Any]:
    """What GET /evaluation answers: every (variant, version) with outcomes, and the served
    challenger (B) judged against the served champion (A) on the evidence admitted."""
    by_arm: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_arm[(outcome.alias, outcome.version)].append(outcome)
    settings = {"alpha": alpha, "min_samples": min_samples, "mixing_sd": mixing_sd}
    variants = []
    for (alias, version), arm_outcomes in sorted(by_arm.items()):
        arm = Arm.of(_scores(task, arm_outcomes))
        routed = sum(o.routed for o in arm_outcomes)
        variants.append(
            {
                "variant": alias,
                "version": version,
                "outcomes": arm.n,
                "addressed": arm.n - routed,  # the caller named the variant: logged, never judged
                "metric": _finite(arm.mean),
            }
        )
    sides = [("A", served.get("A") or ""), ("B", served.get("B") or "")]
    compared = [o for o in outcomes if o.routed and (o.alias, o.version) in sides]
    admitted, sources = evidence.admitted(compared) if compared else ([], {})

    def judged_on(kept: list[Outcome]):
        arms = [[o for o in kept if (o.alias, o.version) == key] for key in sides]
        scored = [(arm, _scores(task, arm)) for arm in arms]
        return scored, judge(task, Arm.of(scored[0][1]), Arm.of(scored[1][1]), **settings)

    (champion, challenger), judged = judged_on(admitted)
    decision, why = evidence.decision(
        judged, sources, lambda source: judged_on([o for o in admitted if o.source != source])[1]
    )
    answer = {
        "task": task,
        "metric": judged.metric,
        "outcomes": len(outcomes),
        "variants": variants,
        "comparison": {
            "champion": {
                "variant": "A",
                "version": served.get("A"),
                "outcomes": judged.champion.n,
                "metric": _finite(judged.champion.mean),
                "interval": _interval(judged.champion_interval),
            },
            "challenger": {
                "variant": "B",
                "version": served.get("B"),
                "outcomes": judged.challenger.n,
                "metric": _finite(judged.challenger.mean),
                "interval": _interval(judged.challenger_interval),
            },
            "difference": _finite(judged.difference),
            "difference_interval": _interval(judged.difference_interval),
            "decision": decision,
            "why": why,
            "sources": sources,
        },
        "test": {
            "name": TEST,
            **settings,
            "min_sources": evidence.min_sources,
            "max_source_share": evidence.max_source_share,
        },
    }
    if history:
        answer["history"] = difference_history(task, champion, challenger, **settings)
    return answer


def judged(settings: Settings, outcomes: list[Outcome], served: dict[str, str | None], history: bool = False) -> dict:
    """`evaluation` with the env's test settings (EVALUATION_*)."""
    layer = EvaluationSettings.of(settings)
    return evaluation(
        settings.task,
        outcomes,
        served,
        layer.evaluation_alpha,
        layer.evaluation_min_samples,
        layer.evaluation_mixing_sd,
        Evidence(layer.evaluation_min_sources, layer.evaluation_max_source_share),
        history=history,
    )


def _number(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f}"


def card_line(report: dict[str, Any], version: str) -> str:
    """What the fed-back outcomes say of `version`: per alias it answered on, how many and its
    metric; where it is the served challenger or champion, the judgement between them."""
    mine = [v for v in report["variants"] if v["version"] == version]
    if not mine:
        return f"no outcome of v{version} fed back (in the store now)"
    metric = report["metric"]
    line = "; ".join(f"{v['outcomes']:,} outcomes on {v['variant']}, {metric} {_number(v['metric'])}" for v in mine)
    comparison = report["comparison"]
    champion, challenger = comparison["champion"]["version"], comparison["challenger"]["version"]
    if champion and challenger and champion != challenger and version in (champion, challenger):
        low, high = comparison["difference_interval"]
        judged = f"against champion v{champion}" if version == challenger else f"challenger v{challenger} against it"
        line += f"; {judged}: {comparison['decision']}"
        if comparison["difference"] is not None:
            line += f", difference {_number(comparison['difference'])} [{_number(low)}, {_number(high)}]"
    return line


def _scores(task: Task, outcomes: list[Outcome]) -> np.ndarray:
    if not outcomes:
        return np.zeros(0)
    return scores(task, [o.prediction for o in outcomes], [o.label for o in outcomes])


def difference_history(
    task: Task,
    champion: tuple[list[Outcome], np.ndarray],
    challenger: tuple[list[Outcome], np.ndarray],
    **settings: Any,
) -> list[dict[str, Any]]:
    """The difference and its interval after each outcome (at most HISTORY_POINTS of them), as a
    dashboard reading it after every outcome would have seen them. Each side: its outcomes and scores."""
    events = sorted(
        (outcome.received_at, side, score)
        for side, (arm_outcomes, arm_scores) in enumerate((champion, challenger))
        for outcome, score in zip(arm_outcomes, arm_scores, strict=True)
    )
    sums, squares, counts = [0.0, 0.0], [0.0, 0.0], [0, 0]
    points = []
    step = max(1, len(events) // HISTORY_POINTS)
    for index, (at, side, score) in enumerate(events):
        sums[side] += score
        squares[side] += score * score
        counts[side] += 1
        if (index + 1) % step and index + 1 != len(events):
            continue
        if min(counts) < 2:
            continue
        judged = judge(
            task, Arm.of_sums(counts[0], sums[0], squares[0]), Arm.of_sums(counts[1], sums[1], squares[1]), **settings
        )
        points.append(
            {
                "time": at,
                "champion_outcomes": counts[0],
                "challenger_outcomes": counts[1],
                "difference": _finite(judged.difference),
                "interval": _interval(judged.difference_interval),
                "decision": judged.decision,
            }
        )
    return points
