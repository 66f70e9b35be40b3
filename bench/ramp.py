"""The ramp's decisions measured on simulated ramps with known truth, 1,000 per case, decided every
30 s (the sensor: every 5 s), with the default steps (1, 5, 25, 50 %), margin (0.005), minimum
exposure (10 minutes) and alpha (0.05), at 200 requests a second (`core_assets.release.ramp_simulation`)."""

from __future__ import annotations

import time

from core_assets.release.ramp_simulation import Ramp, Scenario, outcomes, summary

RUNS = 1_000
CASES = {
    "equal error rates (1%) and latency": Scenario(200),
    "challenger with twice the error rate (2% vs 1%)": Scenario(200, error_b=0.02),
    "challenger slower than A's p99 twice as often": Scenario(200, slow_b=0.02),
    "no traffic for 30 minutes": Scenario(0, minutes=30),
}


def run() -> dict:
    print("ramp: 1,000 simulated ramps per case...", flush=True)
    results = {}
    for name, scenario in CASES.items():
        started = time.perf_counter()
        found = summary(outcomes(scenario, Ramp(), RUNS, seed=len(results)))
        results[name] = {**found, "seconds": time.perf_counter() - started}
    return {"runs": RUNS, "cases": results}


def render(results: dict) -> list[str]:
    rows = [
        "| case | promoted | aborted | aborted at <= 5% | holding | median minutes to the end |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in results["cases"].items():
        rows.append(
            f"| {name} | {c['promoted']:.1%} | {c['aborted']:.1%} | {c['aborted_at_most_5pct']:.1%} "
            f"| {c['holding']:.1%} | {c['median_minutes']:.0f} |"
        )
    equal = results["cases"]["equal error rates (1%) and latency"]
    worse = results["cases"]["challenger with twice the error rate (2% vs 1%)"]
    idle = results["cases"]["no traffic for 30 minutes"]
    judged = [
        ("equal variants: wrong aborts <= 5%", f"{equal['aborted']:.1%}", equal["aborted"] <= 0.05),
        (
            "twice the error rate: aborted before its share exceeds 5% in >= 95%",
            f"{worse['aborted_at_most_5pct']:.1%}",
            worse["aborted_at_most_5pct"] >= 0.95,
        ),
        ("no traffic: no promotion, no abort", f"{idle['holding']:.0%} holding", idle["holding"] == 1.0),
    ]
    return [
        f"{results['runs']:,} simulated ramps per case, decided every 30 s, 200 requests a second, default settings.",
        "",
        *rows,
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {what} | {value} | {'yes' if met else '**no**'} |" for what, value, met in judged),
        "",
    ]
