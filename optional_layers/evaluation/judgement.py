"""Champion vs challenger on fed-back outcomes, with a test that stays valid however often it is
looked at (`mlops_base.always_valid`: the mixture SPRT's confidence sequence).

Each outcome is scored per task: classification scores 1 for a right answer (the metric is
accuracy, higher is better); regression scores the absolute error (MAE, lower is better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mlops_base.always_valid import Arm, difference_interval, mean_interval, variance_of

Task = Literal["classification", "regression"]
Decision = Literal["better", "worse", "not yet known"]
METRIC: dict[Task, str] = {"classification": "accuracy", "regression": "mae"}


def scores(task: Task, predictions: Sequence, labels: Sequence) -> np.ndarray:
    """Per outcome: 1.0 for a right class (classification), else the absolute error (regression)."""
    if task == "classification":
        return np.array([float(p == y) for p, y in zip(predictions, labels, strict=True)])
    return np.abs(np.asarray(predictions, dtype=np.float64) - np.asarray(labels, dtype=np.float64))


@dataclass(frozen=True)
class Judgement:
    metric: str
    champion: Arm
    challenger: Arm
    champion_interval: tuple[float, float]
    challenger_interval: tuple[float, float]
    difference: float  # challenger minus champion, in the metric's units
    difference_interval: tuple[float, float]
    decision: Decision
    why: str


def judge(
    task: Task,
    champion: Arm,
    challenger: Arm,
    alpha: float = 0.05,
    min_samples: int = 100,
    mixing_sd: float = 0.5,
) -> Judgement:
    """The challenger against the champion: each metric and the difference with always-valid
    intervals, and a decision only when each side has `min_samples` outcomes and the interval of the
    difference excludes zero."""
    bounded = task == "classification"
    higher_is_better = task == "classification"
    metric = METRIC[task]
    if min(champion.n, challenger.n) < max(min_samples, 2):
        nan = (math.nan, math.nan)
        difference = challenger.mean - champion.mean if min(champion.n, challenger.n) else math.nan
        why = f"{champion.n} and {challenger.n} outcomes; a decision needs {min_samples} on each side"
        return Judgement(metric, champion, challenger, nan, nan, difference, nan, "not yet known", why)
    tau2 = (mixing_sd**2) * (variance_of(champion, bounded) + variance_of(challenger, bounded)) / 2
    difference = challenger.mean - champion.mean
    low, high = difference_interval(champion, challenger, alpha, bounded, mixing_sd)
    gain_low, gain_high = (low, high) if higher_is_better else (-high, -low)
    if gain_low > 0:
        decision: Decision = "better"
    elif gain_high < 0:
        decision = "worse"
    else:
        decision = "not yet known"
    why = (
        f"{metric} {challenger.mean:.4f} (n={challenger.n}) vs champion {champion.mean:.4f} (n={champion.n}): "
        f"difference {difference:+.4f}, always-valid {1 - alpha:.0%} interval [{low:+.4f}, {high:+.4f}]"
    )
    return Judgement(
        metric,
        champion,
        challenger,
        mean_interval(champion, tau2, alpha, bounded),
        mean_interval(challenger, tau2, alpha, bounded),
        difference,
        (low, high),
        decision,
        why,
    )
