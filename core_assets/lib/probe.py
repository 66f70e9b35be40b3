"""The synthetic probe: the row recorded when each served version was trained (`PROBE_TAG`), sent
through every public protocol to every replica between releases; each answer compared with the one
recorded, its latency with the budget. Plain functions: the `synthetic_probe` check runs them.

Per alias: `/variant/{alias}/predict` and `/v2/models/{name}/versions/{alias}/infer` (the v2 body
built from the model's own metadata: one 2-D input for a positional model, one per column
otherwise); `/invocations` is routed as clients are, so its answer is compared with the record of
the version that answered (`x-model-version`)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Expected:
    """A version's recorded row and the answer its model gave when trained."""

    version: str
    row: dict[str, Any]
    prediction: Any

    @classmethod
    def of(cls, version: str, tag: str) -> Expected:
        found = json.loads(tag)
        return cls(version, found["row"], found["prediction"])


@dataclass(frozen=True)
class Probed:
    """One request of the probe: where it went, how long it took, and what was wrong (None: nothing)."""

    replica: str
    protocol: str
    alias: str
    ms: float
    problem: str | None = None


def v2_body(row: dict[str, Any], inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The row as the model's v2 metadata asks for it."""
    if len(inputs) == 1 and len(inputs[0]["shape"]) == 2:  # positional: one [rows, features] tensor
        tensor = inputs[0]
        return {"inputs": [{**tensor, "shape": [1, len(row)], "data": list(row.values())}]}
    return {"inputs": [{**spec, "shape": [1], "data": [row[spec["name"]]]} for spec in inputs]}


def answer_of(protocol: str, body: dict[str, Any]) -> Any:
    if protocol == "v2":
        return next(o for o in body["outputs"] if o["name"] == "predict")["data"][0]
    return body["predictions"][0]


def probe_replica(
    client: httpx.Client,
    url: str,
    model_name: str,
    served: Mapping[str, Expected],
    budget_ms: float,
) -> list[Probed]:
    """Every protocol on one replica, each served alias: what each request found."""
    found: list[Probed] = []
    for alias, expected in served.items():
        v2 = f"/v2/models/{model_name}/versions/{alias}"
        requests = [("predict", f"/variant/{alias}/predict", {"dataframe_records": [expected.row]})]
        try:
            metadata = client.get(f"{url}{v2}")
        except httpx.HTTPError as exc:  # the replica is down: every request would say so
            found.append(Probed(url, "v2", alias, 0.0, f"GET {v2}: {type(exc).__name__}"))
            continue
        if metadata.status_code == 200:
            requests.append(("v2", f"{v2}/infer", v2_body(expected.row, metadata.json()["inputs"])))
        else:
            found.append(Probed(url, "v2", alias, 0.0, f"GET {v2} answered {metadata.status_code}"))
        requests.append(("invocations", "/invocations", {"dataframe_records": [expected.row]}))
        for protocol, path, body in requests:
            found.append(_one(client, url, protocol, alias, path, body, served, expected, budget_ms))
    return found


def _one(client, url, protocol, alias, path, body, served, expected, budget_ms) -> Probed:
    started = time.perf_counter()
    try:
        response = client.post(f"{url}{path}", json=body)
    except httpx.HTTPError as exc:
        return Probed(url, protocol, alias, 0.0, f"{path}: {type(exc).__name__}")
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Probed(url, protocol, alias, ms, f"{path} answered {response.status_code}: {response.text[:200]}")
    answered_by = response.headers.get("x-model-version", expected.version)
    wanted = next((e for e in served.values() if e.version == answered_by), expected)
    got = answer_of(protocol, response.json())
    if got != wanted.prediction:
        return Probed(
            url, protocol, alias, ms, f"{path}: v{wanted.version} answered {got!r}, recorded {wanted.prediction!r}"
        )
    if ms > budget_ms:
        return Probed(url, protocol, alias, ms, f"{path}: {ms:.0f} ms, over SYNTHETIC_PROBE_BUDGET_MS={budget_ms:g}")
    return Probed(url, protocol, alias, ms)
