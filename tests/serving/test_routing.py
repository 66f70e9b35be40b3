"""Routing statistics over 10,000 client ids, stickiness, and the one-alias fallback."""

from __future__ import annotations

import pytest

from mlops_base.settings import load_settings
from mlops_platform.traffic import interval
from serving.traffic_split import NoModelLoaded, Route, bucket, configured_split, route

BOTH = {"A", "B"}
IDS = [f"client-{i}" for i in range(10_000)]


def _share_of_b(settings) -> tuple[int, int]:
    hits = sum(route(settings, bucket(client_id), BOTH).alias == "B" for client_id in IDS)
    return hits, len(IDS)


@pytest.mark.parametrize(
    ("overrides", "expected_b"),
    [
        ({"alias_selection_mode": "ab_test"}, 0.10),
        ({"alias_selection_mode": "ab_test", "ab_test_percent": 35}, 0.35),
        ({"alias_selection_mode": "canary", "canary_percent": 5}, 0.05),
        ({"alias_selection_mode": "canary", "canary_percent": 50}, 0.50),
        ({"alias_selection_mode": "blue_green", "default_alias": "B"}, 1.0),
        ({"alias_selection_mode": "blue_green", "default_alias": "A"}, 0.0),
        ({"alias_selection_mode": "shadow", "default_alias": "A"}, 0.0),
    ],
)
def test_observed_share_falls_in_the_999_interval(overrides, expected_b):
    settings = load_settings("dev", **overrides)
    hits, total = _share_of_b(settings)
    low, high = interval(hits, total, 0.999)
    assert low <= expected_b <= high, (hits, total)
    assert configured_split(settings)["B"] == round(expected_b * 100)


def test_routing_is_sticky_per_client_id():
    settings = load_settings("dev", alias_selection_mode="canary", canary_percent=30)
    first = [route(settings, bucket(i), BOTH) for i in IDS[:2000]]
    again = [route(settings, bucket(i), BOTH) for i in IDS[:2000]]
    assert first == again
    assert {r.alias for r in first} == BOTH


def test_anonymous_requests_are_spread_at_random():
    settings = load_settings("dev", alias_selection_mode="canary", canary_percent=50)
    hits = sum(route(settings, bucket(None), BOTH).alias == "B" for _ in range(10_000))
    low, high = interval(hits, 10_000, 0.999)
    assert low <= 0.5 <= high


def test_shadow_answers_with_the_default_and_copies_to_the_other():
    settings = load_settings("dev", alias_selection_mode="shadow", default_alias="B")
    assert route(settings, 7, BOTH) == Route("B", shadow="A")


def test_a_single_loaded_alias_takes_all_traffic():
    settings = load_settings("dev", alias_selection_mode="blue_green", default_alias="A")
    assert {route(settings, bucket(i), {"B"}).alias for i in IDS[:500]} == {"B"}
    with pytest.raises(NoModelLoaded):
        route(settings, 3, set())
