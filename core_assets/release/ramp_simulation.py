"""Simulated ramps with known truth, decided every `tick_s` (the sensor decides every 5 s; the
intervals hold at any number of looks, so a coarser tick only decides a little later): how often
equal variants are aborted by mistake, how soon a worse challenger is stopped and at what share,
and what a ramp without traffic does. The suite's fast tier and `./mlops bench` run the same."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core_assets.release.ramp import Evidence, decide
from layer_api import RampObservations
from mlops_base.always_valid import Arm
from mlops_base.ramp import RampState

Outcome = Literal["promoted", "aborted", "holding"]


@dataclass(frozen=True)
class Scenario:
    """Traffic (Poisson, requests a second) and each alias's true rates: of errors, and of requests
    slower than A's p99 (A's is 1% by definition)."""

    requests_per_s: float
    error_a: float = 0.01
    error_b: float = 0.01
    slow_a: float = 0.01
    slow_b: float = 0.01
    minutes: float = 180.0  # how long the simulated ramp may run


@dataclass(frozen=True)
class Ramp:
    steps: tuple[int, ...] = (1, 5, 25, 50)
    margin: float = 0.005
    min_exposure_s: float = 600.0
    alpha: float = 0.05
    tick_s: float = 30.0  # how often the simulated sensor decides


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    share: int  # B's share when it ended (or at the end of the simulated time)
    seconds: float
    reason: str


def simulate(scenario: Scenario, ramp: Ramp, rng: np.random.Generator) -> Result:
    """One ramp, from its first step until it is promoted, aborted or the time is up."""
    state = RampState("2", "1", 0, 0.0, 0.0)
    counts = np.zeros((2, 3), dtype=np.int64)  # per alias: requests, errors, slow ones
    rates = np.array([[scenario.error_a, scenario.slow_a], [scenario.error_b, scenario.slow_b]])
    reason, now = "", 0.0
    while now < scenario.minutes * 60:
        now += ramp.tick_s
        requests = rng.poisson(scenario.requests_per_s * ramp.tick_s)
        to_b = rng.binomial(requests, ramp.steps[state.step] / 100)
        served = np.array([requests - to_b, to_b])
        counts[:, 0] += served
        counts[:, 1:] += rng.binomial(served[:, None], rates)
        evidence = [
            Evidence(
                RampObservations(
                    name,
                    Arm.of_counts(counts[0, 0], counts[0, i]),
                    Arm.of_counts(counts[1, 0], counts[1, i]),
                    True,
                    True,
                ),
                ramp.margin,
            )
            for i, name in ((1, "errors"), (2, "latency"))
        ]
        decision = decide(state, evidence, ramp.steps, now, ramp.min_exposure_s, ramp.alpha)
        reason = decision.reason
        if decision.action == "abort":
            return Result("aborted", ramp.steps[state.step], now, reason)
        if decision.action == "promote":
            return Result("promoted", ramp.steps[state.step], now, reason)
        if decision.action == "advance":
            state = RampState(state.challenger, state.champion, decision.step, now, state.started)
            counts[:] = 0  # each step is judged on its own observations
    return Result("holding", ramp.steps[state.step], now, reason)


def outcomes(scenario: Scenario, ramp: Ramp, runs: int, seed: int = 0) -> list[Result]:
    rng = np.random.default_rng(seed)
    return [simulate(scenario, ramp, rng) for _ in range(runs)]


def summary(results: list[Result]) -> dict[str, float]:
    """Shares of runs promoted, aborted and still holding; of runs aborted at <= 5%; median minutes."""
    counts = Counter(r.outcome for r in results)
    runs = len(results)
    return {
        "promoted": counts["promoted"] / runs,
        "aborted": counts["aborted"] / runs,
        "holding": counts["holding"] / runs,
        "aborted_at_most_5pct": sum(r.outcome == "aborted" and r.share <= 5 for r in results) / runs,
        "median_minutes": float(np.median([r.seconds for r in results])) / 60,
    }
