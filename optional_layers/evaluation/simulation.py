"""Simulated experiments with known truth: how often the judgement decides wrongly when the two
variants are equal (its false-decision rate, looked at after every batch of outcomes, as a
dashboard or a sensor would), and how often it finds a known margin (its power)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from optional_layers.evaluation.judgement import Arm, Decision, Task, judge

Draw = Callable[[np.random.Generator, int], np.ndarray]  # n scores of one variant


def bernoulli(accuracy: float) -> Draw:
    """Right (1) or wrong (0) answers of a classifier with this accuracy."""
    return lambda rng, n: (rng.random(n) < accuracy).astype(np.float64)


def absolute_errors(mae: float) -> Draw:
    """Absolute errors of a regressor whose errors are normal with this mean absolute error."""
    sd = mae * np.sqrt(np.pi / 2)  # E|N(0, sd^2)| = sd * sqrt(2 / pi)
    return lambda rng, n: np.abs(rng.normal(0.0, sd, n))


def experiment(
    rng: np.random.Generator,
    task: Task,
    champion: Draw,
    challenger: Draw,
    batch: int,
    max_per_arm: int,
    **settings,
) -> Decision:
    """Outcomes arrive `batch` per variant at a time; the judgement is read after each batch and the
    first decision taken stands (as a promotion would). "not yet known" when none by `max_per_arm`."""
    a, b = champion(rng, max_per_arm), challenger(rng, max_per_arm)
    sums_a, sums_b = np.cumsum(a), np.cumsum(b)
    squares_a, squares_b = np.cumsum(a * a), np.cumsum(b * b)
    for n in range(batch, max_per_arm + 1, batch):
        i = n - 1
        judged = judge(
            task, Arm.of_sums(n, sums_a[i], squares_a[i]), Arm.of_sums(n, sums_b[i], squares_b[i]), **settings
        ).decision
        if judged != "not yet known":
            return judged
    return "not yet known"


def decision_rates(
    task: Task, champion: Draw, challenger: Draw, experiments: int, seed: int = 0, **kwargs
) -> dict[Decision, float]:
    """The share of `experiments` ending in each decision."""
    rng = np.random.default_rng(seed)
    counts = Counter(experiment(rng, task, champion, challenger, **kwargs) for _ in range(experiments))
    return {decision: counts[decision] / experiments for decision in ("better", "worse", "not yet known")}
