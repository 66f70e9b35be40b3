"""What a model card says of a version's drift tests, from every replica's `GET /drift`."""

from __future__ import annotations

from optional_layers.drift.replicas import card_line


def _version(version: str, status: str, rows: int, drifted: list[str]) -> dict:
    return {"version": version, "status": status, "rows": rows, "answered_rows": rows + 5, "drifted": drifted}


def test_a_drift_on_any_replica_names_its_columns_and_how_many_replicas_found_it():
    states = {
        "http://a": {"versions": [_version("3", "drift", 400, ["age", "plan"]), _version("2", "watching", 9, [])]},
        "http://b": {"versions": [_version("3", "watching", 350, [])]},
    }
    assert card_line(states, "3") == "drift on age, plan (1 of 2 replicas; 750 rows tested)"
    assert card_line(states, "2") == "watching: 9 rows tested (14 answered) on 1 replica(s), no drift"
    assert card_line(states, "7") == "not tested: no replica serves v7 now (2 asked)"
