"""The judgement of the served champion and challenger over the stored outcomes, per variant and
version, and how the difference developed as outcomes arrived."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from optional_layers.evaluation.judgement import Arm, Task, judge, scores
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


@dataclass(frozen=True)
class Evidence:
    """What a decision may rest on: outcomes of routed traffic only (a caller who names the variant
    chose it: no randomised comparison), from at least `min_sources` sources (feedback credentials),
    none counting for more than `max_source_share` of the outcomes judged."""

    min_sources: int = 1
    max_source_share: float = 1.0

    def admitted(self, outcomes: list[Outcome]) -> tuple[list[Outcome], dict[str, dict[str, int]]]:
        """The outcomes judged (each source's earliest, up to its cap) and, per source, how many it
        sent and how many count."""
        sent: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in outcomes:
            sent[outcome.source].append(outcome)
        counted = {source: len(items) for source, items in sent.items()}
        if self.max_source_share < 1:
            ratio = self.max_source_share / (1 - self.max_source_share)
            while True:  # cap the largest by the others' counted outcomes until no source exceeds its share
                largest = max(counted, key=counted.get)
                cap = math.floor(ratio * (sum(counted.values()) - counted[largest]))
                if counted[largest] <= cap:
                    break
                counted[largest] = cap
        kept = [o for source, items in sent.items() for o in items[: counted[source]]]
        kept.sort(key=lambda o: o.received_at)
        return kept, {source: {"sent": len(sent[source]), "counted": counted[source]} for source in sorted(sent)}

    def lacking(self, sources: dict[str, dict[str, int]]) -> str | None:
        """Why the evidence cannot decide anything yet, or None."""
        counting = [source for source, seen in sources.items() if seen["counted"]]
        if len(counting) >= self.min_sources:
            return None
        named = ", ".join(counting) or "none"
        return (
            f"outcomes from {len(counting)} source(s) ({named}); a decision needs EVALUATION_MIN_SOURCES="
            f"{self.min_sources}, none above EVALUATION_MAX_SOURCE_SHARE={self.max_source_share:g}"
        )


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
    arms: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for outcome in admitted:
        arms[(outcome.alias, outcome.version)].append(outcome)
    champion, challenger = ((arms[key], _scores(task, arms[key])) for key in sides)
    judged = judge(task, Arm.of(champion[1]), Arm.of(challenger[1]), **settings)
    lacking = evidence.lacking(sources)
    decision, why = (judged.decision, judged.why) if lacking is None else ("not yet known", f"{lacking}; {judged.why}")
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
