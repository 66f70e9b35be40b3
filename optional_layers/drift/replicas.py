"""Every model-server replica's drift tests (`GET /drift`), as the Dagster sensors and the model
card read them, and what a card says of one version's."""

from __future__ import annotations

from typing import Any

import httpx

from serving_client import ServingError, replica_urls


def read_replicas(
    serving_url: str, replica_list: str, replicas_dns: str, reload_token: str
) -> dict[str, dict[str, Any]]:
    """Per replica URL (SERVING_URL, SERVING_REPLICA_URLS or SERVING_REPLICAS_DNS), its /drift
    (`reload_token`: the operator's credential it needs); RuntimeError when none answers."""
    states, errors = {}, []
    try:
        urls = replica_urls(serving_url, replica_list, replicas_dns)
    except ServingError as exc:
        raise RuntimeError(str(exc)) from exc
    for url in urls:
        try:
            response = httpx.get(
                f"{url.rstrip('/')}/drift", headers={"Authorization": f"Bearer {reload_token}"}, timeout=30
            )
            response.raise_for_status()
            states[url] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
    if not states:
        raise RuntimeError("no model server answered /drift: " + "; ".join(errors or ["no SERVING_URL set"]))
    return states


def card_line(states: dict[str, dict[str, Any]], version: str) -> str:
    """What the replicas' tests say of `version` now: the drifted columns, or the tests' status."""
    found = [v for state in states.values() for v in state["versions"] if v["version"] == version]
    if not found:
        return f"not tested: no replica serves v{version} now ({len(states)} asked)"
    rows = sum(v["rows"] for v in found)
    columns = sorted({column for v in found for column in v["drifted"]})
    if columns:
        drifting = sum(v["status"] == "drift" for v in found)
        return f"drift on {', '.join(columns)} ({drifting} of {len(found)} replicas; {rows:,} rows tested)"
    statuses = " / ".join(sorted({v["status"] for v in found}))
    answered = sum(v["answered_rows"] for v in found)
    return f"{statuses}: {rows:,} rows tested ({answered:,} answered) on {len(found)} replica(s), no drift"
