"""Which replicas a release reaches, and how their outcomes are told (fast tier; the fan-out against
three real replicas: tests/e2e/test_replicas.py)."""

from __future__ import annotations

import pytest

from serving_client import FleetResult, ReplicaOutcome, ServingError, replica_urls


def test_the_listed_urls_win_then_the_dns_name_then_serving_url():
    assert replica_urls("http://lb:8000", " http://a:1/ , http://b:2", "ignored:1") == ["http://a:1", "http://b:2"]
    assert replica_urls("http://lb:8000/", "", "") == ["http://lb:8000"]
    assert replica_urls("", "", "") == []


def test_a_headless_service_name_gives_one_url_per_address():
    urls = replica_urls("http://lb:8000", "", "localhost:8123")
    assert "http://127.0.0.1:8123" in urls and all(u.endswith(":8123") for u in urls)
    assert len(urls) == len(set(urls))


def test_a_dns_name_that_resolves_to_nothing_is_an_error_naming_it():
    with pytest.raises(ServingError, match="serving-replicas.invalid:8000"):
        replica_urls("", "", "serving-replicas.invalid:8000")


def test_the_outcome_names_every_replica_that_does_not_serve_the_version():
    result = FleetResult(
        "B",
        "7",
        [
            ReplicaOutcome("http://a:1", "7"),
            ReplicaOutcome("http://b:2", "6", "POST /variant/B/reload -> 422: cannot load"),
            ReplicaOutcome("http://c:3", None, "unreachable (connection refused)"),
        ],
    )
    assert not result.ok
    assert result.detail() == (
        "2 of 3 replica(s) do not serve B=v7: http://b:2: POST /variant/B/reload -> 422: cannot load; "
        "http://c:3: unreachable (connection refused)"
    )
    assert result.as_dict()["http://b:2"] == {"served": "6", "error": "POST /variant/B/reload -> 422: cannot load"}
    assert FleetResult("B", "7", [ReplicaOutcome("http://a:1", "7")]).detail() == "all 1 replica(s) serve B=v7"
    assert not FleetResult("B", "7", []).ok
