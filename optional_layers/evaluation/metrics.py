"""The judgement as gauges (name, help, labels, value), for the monitoring layer's /metrics."""

from __future__ import annotations

from typing import Any

HELP = {
    "mlops_evaluation_outcomes": "Fed-back outcomes (scored rows) per variant and version",
    "mlops_evaluation_metric": "Online metric per variant and version",
    "mlops_evaluation_difference": "Challenger minus champion: estimate and always-valid interval",
    "mlops_evaluation_decision": "1 for the judgement's current decision",
}
DECISIONS = ("better", "worse", "not yet known")


def gauges(judged: dict[str, Any]) -> list[tuple[str, str, dict[str, str], float]]:
    samples: list[tuple[str, str, dict[str, str], float]] = []

    def add(name: str, labels: dict[str, str], value: float | None) -> None:
        if value is not None:
            samples.append((name, HELP[name], labels, float(value)))

    for v in judged["variants"]:
        arm = {"variant": v["variant"], "version": v["version"]}
        add("mlops_evaluation_outcomes", arm, v["outcomes"])
        add("mlops_evaluation_metric", {**arm, "metric": judged["metric"]}, v["metric"])
    comparison = judged["comparison"]
    low, high = comparison["difference_interval"]
    for bound, value in (("estimate", comparison["difference"]), ("low", low), ("high", high)):
        add("mlops_evaluation_difference", {"bound": bound}, value)
    for decision in DECISIONS:
        add("mlops_evaluation_decision", {"decision": decision}, comparison["decision"] == decision)
    return samples
