"""Routing statistics over 10,000 client ids, stickiness (nested across a ramp's steps), and the
one-alias fallback."""

from __future__ import annotations

import pytest

from mlops_base.ramp import RampState
from mlops_base.settings import load_settings
from mlops_platform.traffic import interval
from serving.traffic_split import NoModelLoaded, Route, Routing, bucket, configured_split, route

BOTH = {"A", "B"}
IDS = [f"client-{i}" for i in range(10_000)]


def _share_of_b(routing: Routing, challenger: str | None = None) -> tuple[int, int]:
    hits = sum(route(routing, bucket(client_id), BOTH, challenger).alias == "B" for client_id in IDS)
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
    routing = Routing.of(load_settings("dev", **overrides))
    hits, total = _share_of_b(routing)
    low, high = interval(hits, total, 0.999)
    assert low <= expected_b <= high, (hits, total)
    assert configured_split(routing, None)["B"] == round(expected_b * 100)


def test_routing_is_sticky_per_client_id():
    routing = Routing.of(load_settings("dev", alias_selection_mode="canary", canary_percent=30))
    first = [route(routing, bucket(i), BOTH) for i in IDS[:2000]]
    again = [route(routing, bucket(i), BOTH) for i in IDS[:2000]]
    assert first == again
    assert {r.alias for r in first} == BOTH


def test_anonymous_requests_are_spread_at_random():
    routing = Routing.of(load_settings("dev", alias_selection_mode="canary", canary_percent=50))
    hits = sum(route(routing, bucket(None), BOTH).alias == "B" for _ in range(10_000))
    low, high = interval(hits, 10_000, 0.999)
    assert low <= 0.5 <= high


def test_shadow_answers_with_the_default_and_copies_to_the_other():
    routing = Routing.of(load_settings("dev", alias_selection_mode="shadow", default_alias="B"))
    assert route(routing, 7, BOTH) == Route("B", shadow="A")


def test_a_single_loaded_alias_takes_all_traffic():
    routing = Routing.of(load_settings("dev", alias_selection_mode="blue_green", default_alias="A"))
    assert {route(routing, bucket(i), {"B"}).alias for i in IDS[:500]} == {"B"}
    with pytest.raises(NoModelLoaded):
        route(routing, 3, set())


def test_a_ramp_s_steps_nest_and_each_observed_share_falls_in_the_99_interval():
    """A client on B stays on B as B's share grows; at each step the share is what it says."""
    routing = Routing.of(load_settings("dev", alias_selection_mode="ramp", ramp_steps="1,5,25,50"))
    on_b: set[str] = set()
    for step, share in enumerate(routing.steps):
        at_step = routing._replace(ramp=RampState("7", "6", step, 0.0, 0.0))
        now_on_b = {i for i in IDS if route(at_step, bucket(i), BOTH, "7").alias == "B"}
        assert on_b <= now_on_b  # nobody leaves B when the share grows
        low, high = interval(len(now_on_b), len(IDS), 0.99)
        assert low <= share / 100 <= high, (step, len(now_on_b))
        on_b = now_on_b


def test_a_ramp_gives_a_challenger_its_state_does_not_name_the_first_step():
    routing = Routing.of(load_settings("dev", alias_selection_mode="ramp", ramp_steps="2,10"))
    halfway = routing._replace(ramp=RampState("7", "6", 1, 0.0, 0.0))
    assert configured_split(halfway, "7")["B"] == 10
    assert configured_split(halfway, "8")["B"] == 2  # a new B: from the start
    assert configured_split(routing, "7")["B"] == 2  # no ramp state yet


def test_ramp_steps_must_increase():
    with pytest.raises(ValueError, match="RAMP_STEPS must be increasing"):
        load_settings("dev", ramp_steps="5,1")
