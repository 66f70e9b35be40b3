"""Champion vs challenger on fed-back outcomes, with a test that stays valid however often it is
looked at.

An A/B test read every few minutes and stopped when it "looks significant" is wrong far more often
than its nominal level says. This uses always-valid inference instead: the mixture sequential
probability ratio test (mSPRT) with a normal mixture N(0, tau^2) over the difference of the two
means, and the confidence sequence it implies (Johari, Koomen, Pekelis and Walsh, "Always Valid
Inference: Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022, section 4).
With V the variance of the estimated difference (sigma_A^2/n_A + sigma_B^2/n_B), the interval

    difference +- sqrt( V (V + tau^2) / tau^2 * ( ln((V + tau^2) / V) + 2 ln(1 / alpha) ) )

covers the true difference at every sample size at once with probability >= 1 - alpha (normal
approximation), so deciding as soon as it excludes zero keeps the false-decision rate at alpha.
tau is set in units of the outcome's standard deviation (`mixing_sd`): it is the effect size the
test is most sensitive to.

Each outcome is scored per task: classification scores 1 for a right answer (the metric is
accuracy, higher is better); regression scores the absolute error (MAE, lower is better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Task = Literal["classification", "regression"]
Decision = Literal["better", "worse", "not yet known"]
METRIC: dict[Task, str] = {"classification": "accuracy", "regression": "mae"}


@dataclass(frozen=True)
class Arm:
    """One variant's scored outcomes: how many, their mean and (unbiased) variance."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of_sums(cls, n: int, total: float, squares: float) -> Arm:
        """From running sums (n >= 2): how the judgement is read again after each new outcome."""
        mean = total / n
        return cls(n, mean, max(squares - n * mean * mean, 0.0) / (n - 1))

    @classmethod
    def of(cls, scores: Sequence[float]) -> Arm:
        values = np.asarray(scores, dtype=np.float64)
        if len(values) == 0:
            return cls(0, math.nan, math.nan)
        variance = float(values.var(ddof=1)) if len(values) > 1 else 0.0
        return cls(len(values), float(values.mean()), variance)


def scores(task: Task, predictions: Sequence, labels: Sequence) -> np.ndarray:
    """Per outcome: 1.0 for a right class (classification), else the absolute error (regression)."""
    if task == "classification":
        return np.array([float(p == y) for p, y in zip(predictions, labels, strict=True)])
    return np.abs(np.asarray(predictions, dtype=np.float64) - np.asarray(labels, dtype=np.float64))


def _variance(arm: Arm, bounded: bool) -> float:
    """The arm's variance, kept off zero: for 0/1 scores from (k + 1) / (n + 2) (a run of all-right
    answers is not certainty), else at least a tiny share of the squared mean."""
    if bounded:
        p = (arm.mean * arm.n + 1) / (arm.n + 2)
        return p * (1 - p)
    return max(arm.variance, 1e-12 * (1 + arm.mean**2))


def half_width(v: float, tau2: float, alpha: float) -> float:
    """The always-valid half-width for an estimate of variance `v` (the formula above)."""
    return math.sqrt(v * (v + tau2) / tau2 * (math.log((v + tau2) / v) + 2 * math.log(1 / alpha)))


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
    var_a, var_b = _variance(champion, bounded), _variance(challenger, bounded)
    pooled = (var_a + var_b) / 2
    tau2 = (mixing_sd**2) * pooled

    def interval(mean: float, v: float) -> tuple[float, float]:
        h = half_width(v, tau2, alpha)
        return (mean - h, mean + h)

    difference = challenger.mean - champion.mean
    low, high = interval(difference, var_a / champion.n + var_b / challenger.n)
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
        interval(champion.mean, var_a / champion.n),
        interval(challenger.mean, var_b / challenger.n),
        difference,
        (low, high),
        decision,
        why,
    )
