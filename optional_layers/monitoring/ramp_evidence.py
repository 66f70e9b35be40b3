"""The ramp's error and latency guardrails, counted by Prometheus from the replicas' own metrics
since the current step began (`increase` over the window: a replica that restarted mid-step is
counted whole, as Prometheus handles counter resets).

- errors: 5xx answers of each alias at its ramped version, out of its requests (a Bernoulli stream);
- latency: requests slower than A's p99, read from the latency histogram: the bound is the
  smallest bucket holding at least 99% of A's requests, so A's exceedances are at most 1% and B's
  are compared with them on the same bound. None while A has no requests, or when the bound is the
  last bucket (+Inf: nothing can be slower).
"""

from __future__ import annotations

import math
from collections import defaultdict

import httpx

from layer_api import RampObservations
from mlops_base.always_valid import Arm

QUANTILE = 0.99


def _vector(prometheus_url: str, query: str, at: float) -> list[tuple[dict[str, str], float]]:
    response = httpx.get(f"{prometheus_url.rstrip('/')}/api/v1/query", params={"query": query, "time": at}, timeout=10)
    response.raise_for_status()
    return [(r["metric"], float(r["value"][1])) for r in response.json()["data"]["result"]]


def _count(value: float) -> int:
    """`increase` extrapolates to the window's edges: counts come back as reals."""
    return max(0, round(value)) if math.isfinite(value) else 0


def error_counts(prometheus_url: str, versions: dict[str, str], window_s: int, at: float) -> dict[str, tuple[int, int]]:
    """Per alias: (requests, 5xx answers) at its version over the window."""
    query = f"sum by (variant, version, status) (increase(mlops_predict_requests_total[{window_s}s]))"
    counts: dict[str, list[int]] = {alias: [0, 0] for alias in versions}
    for labels, value in _vector(prometheus_url, query, at):
        alias = labels.get("variant", "")
        if alias in versions and labels.get("version") == versions[alias]:
            counts[alias][0] += _count(value)
            if labels.get("status", "").startswith("5"):
                counts[alias][1] += _count(value)
    return {alias: (n, k) for alias, (n, k) in counts.items()}


def slow_counts(prometheus_url: str, window_s: int, at: float) -> dict[str, tuple[int, int]] | None:
    """Per alias: (requests, those slower than A's p99 bucket bound), or None when there is no bound."""
    query = f"sum by (variant, le) (increase(mlops_predict_latency_seconds_bucket[{window_s}s]))"
    buckets: dict[str, dict[float, int]] = defaultdict(dict)
    for labels, value in _vector(prometheus_url, query, at):
        if labels.get("variant") in ("A", "B"):
            buckets[labels["variant"]][float(labels["le"])] = _count(value)
    champion = buckets.get("A", {})
    total = champion.get(math.inf, 0)
    if not total:
        return None
    bound = min(le for le, count in champion.items() if count >= QUANTILE * total)
    if math.isinf(bound):
        return None
    found = {}
    for alias in ("A", "B"):
        cumulative = buckets.get(alias, {})
        n = cumulative.get(math.inf, 0)
        found[alias] = (n, max(0, n - cumulative.get(bound, 0)))
    return found


def ramp_evidence(
    prometheus_url: str, champion: str, challenger: str, since: float, now: float
) -> list[RampObservations]:
    window_s = max(1, math.ceil(now - since))
    errors = error_counts(prometheus_url, {"A": champion, "B": challenger}, window_s, now)
    found = [RampObservations("errors", Arm.of_counts(*errors["A"]), Arm.of_counts(*errors["B"]), True, True)]
    slow = slow_counts(prometheus_url, window_s, now)
    if slow is not None:
        found.append(RampObservations("latency", Arm.of_counts(*slow["A"]), Arm.of_counts(*slow["B"]), True, True))
    return found
