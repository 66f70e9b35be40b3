"""Intervals for the difference of two means that stay valid however often they are looked at:
the evaluation layer's champion-vs-challenger judgement and the ramp's guardrails read them after
every batch of evidence, and stop as soon as one excludes what they test.

An A/B test read every few minutes and stopped when it "looks significant" is wrong far more often
than its nominal level says. This is always-valid inference instead: the mixture sequential
probability ratio test (mSPRT) with a normal mixture N(0, tau^2) over the difference of the two
means, and the confidence sequence it implies (Johari, Koomen, Pekelis and Walsh, "Always Valid
Inference: Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022, section 4).
With V the variance of the estimated difference (sigma_A^2/n_A + sigma_B^2/n_B), the interval

    difference +- sqrt( V (V + tau^2) / tau^2 * ( ln((V + tau^2) / V) + 2 ln(1 / alpha) ) )

covers the true difference at every sample size at once with probability >= 1 - alpha (normal
approximation), so deciding as soon as it excludes a value keeps the false-decision rate at alpha.
tau is set in units of the outcome's standard deviation (`mixing_sd`): it is the effect size the
test is most sensitive to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Arm:
    """One variant's observations: how many, their mean and (unbiased) variance."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of_sums(cls, n: int, total: float, squares: float) -> Arm:
        """From running sums (n >= 2): how a test is read again after each new observation."""
        mean = total / n
        return cls(n, mean, max(squares - n * mean * mean, 0.0) / (n - 1))

    @classmethod
    def of_counts(cls, n: int, events: int) -> Arm:
        """A Bernoulli stream (errors, latency exceedances): `events` of `n` observations."""
        if n == 0:
            return cls(0, math.nan, math.nan)
        mean = events / n
        return cls(n, mean, mean * (1 - mean) * n / (n - 1) if n > 1 else 0.0)

    @classmethod
    def of(cls, scores: Sequence[float]) -> Arm:
        import numpy as np  # here: the ramp's sensor reads counts, and its code location loads without numpy

        values = np.asarray(scores, dtype=np.float64)
        if len(values) == 0:
            return cls(0, math.nan, math.nan)
        variance = float(values.var(ddof=1)) if len(values) > 1 else 0.0
        return cls(len(values), float(values.mean()), variance)


def variance_of(arm: Arm, bounded: bool) -> float:
    """The arm's variance, kept off zero: for 0/1 observations from (k + 1) / (n + 2) (a run of no
    errors is not certainty), else at least a tiny share of the squared mean."""
    if bounded:
        p = (arm.mean * arm.n + 1) / (arm.n + 2)
        return p * (1 - p)
    return max(arm.variance, 1e-12 * (1 + arm.mean**2))


def half_width(v: float, tau2: float, alpha: float) -> float:
    """The always-valid half-width for an estimate of variance `v` (the formula above)."""
    return math.sqrt(v * (v + tau2) / tau2 * (math.log((v + tau2) / v) + 2 * math.log(1 / alpha)))


def difference_interval(a: Arm, b: Arm, alpha: float, bounded: bool, mixing_sd: float = 0.5) -> tuple[float, float]:
    """The always-valid interval of b's mean minus a's (both n >= 1)."""
    var_a, var_b = variance_of(a, bounded), variance_of(b, bounded)
    tau2 = (mixing_sd**2) * (var_a + var_b) / 2
    h = half_width(var_a / a.n + var_b / b.n, tau2, alpha)
    difference = b.mean - a.mean
    return difference - h, difference + h


def mean_interval(arm: Arm, tau2: float, alpha: float, bounded: bool) -> tuple[float, float]:
    """The always-valid interval of one arm's mean."""
    h = half_width(variance_of(arm, bounded) / arm.n, tau2, alpha)
    return arm.mean - h, arm.mean + h
