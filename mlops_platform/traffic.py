"""`mlops traffic`: send requests with distinct client ids and compare the split with the config."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import httpx
from scipy.stats import binomtest

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def interval(hits: int, total: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    ci = binomtest(hits, total).proportion_ci(confidence_level=confidence, method="wilson")
    return ci.low, ci.high


def send(
    url: str, n: int, concurrency: int, row: list[float], prefix: str | None = None
) -> tuple[Counter, Counter, dict[str, set]]:
    """N /predict calls, each with its own client id (`<prefix>-<i>`, a random prefix by default):
    counts per variant and status, versions seen."""
    prefix = prefix or uuid.uuid4().hex[:8]
    variants: Counter = Counter()
    statuses: Counter = Counter()
    versions: dict[str, set] = defaultdict(set)
    with httpx.Client(base_url=url, timeout=30) as client:

        def one(i: int) -> None:
            response = client.post("/predict", json={"data": [row]}, headers={"x-client-id": f"{prefix}-{i}"})
            statuses[response.status_code] += 1
            if response.status_code == 200:
                body = response.json()
                variants[body["variant"]] += 1
                versions[body["variant"]].add(body["version"])

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(n)))
    return variants, statuses, versions


class TrafficReport(NamedTuple):
    text: str
    problems: list[str]  # each share outside its interval, and failed requests: empty when all is well


def judge(
    health: dict, variants: Counter, statuses: Counter, versions: dict[str, set], n: int, confidence: float
) -> TrafficReport:
    """The observed split against the server's effective one, with a Wilson interval per variant."""
    routing = health["routing"]
    served = sum(variants.values())
    lines = [
        f"mode {routing['mode']} (default alias {routing['default_alias']}), {n} requests, "
        f"statuses {dict(sorted(statuses.items()))}",
        f"{'variant':<12}{'configured':>11}{'effective':>11}{'observed':>10}   {confidence:.0%} interval",
    ]
    problems = []
    failed = n - statuses.get(200, 0)
    if failed:
        problems.append(f"{failed} of {n} requests failed")
    for alias in sorted(routing["configured_split"]):
        seen = ",".join(f"v{v}" for v in sorted(versions[alias], key=int))
        label = f"{alias} ({seen})" if seen else alias
        hits = variants[alias]
        low, high = interval(hits, served, confidence) if served else (0.0, 0.0)
        expected = routing["effective_split"][alias] / 100
        inside = low <= expected <= high
        if not inside:
            problems.append(f"{alias} took {hits / served if served else 0:.1%}, outside [{low:.1%}, {high:.1%}]")
        lines.append(
            f"{label:<12}{routing['configured_split'][alias]:>10}%{routing['effective_split'][alias]:>10}%"
            f"{hits / served if served else 0:>10.1%}   [{low:.1%}, {high:.1%}] {'ok' if inside else 'OUTSIDE'}"
        )
    if health.get("note"):
        lines.append(f"note: {health['note']}")
    return TrafficReport("\n".join(lines), problems)


def report(
    url: str, n: int, concurrency: int = 8, confidence: float = 0.99, client_prefix: str | None = None
) -> TrafficReport:
    """httpx.HTTPError when the server cannot be reached."""
    health = httpx.get(f"{url}/health", timeout=10).raise_for_status().json()
    variants, statuses, versions = send(url, n, concurrency, IRIS_ROW, client_prefix)
    return judge(health, variants, statuses, versions, n, confidence)
