"""The replica's own watch of the registry's aliases, on the fake registry (fast tier). The same
behaviour with real replicas and a real MLflow server: tests/e2e/test_replicas.py."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from mlops_base.aliases import Alias
from mlops_base.ramp import DECISION_TAG, RAMP_TAG, RampState
from serving.alias_watch import MAX_BACKOFF_S, AliasWatch
from serving.runtimes.base import ModelLoadError
from serving.variants import VariantRegistry
from tests.fakes import ErrorModel, FakeRegistry, fake_server, fake_settings

FAST = {"alias_poll_seconds": 0.05}


def _wait(client, condition, timeout_s: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        health = {**client.get("/health").json(), **client.get("/models").json()}
        if condition(health) or time.monotonic() > deadline:
            return health
        time.sleep(0.02)


def _served(health: dict, alias: str) -> str | None:
    return health["alias_watch"]["aliases"][alias]["served_version"]


def test_an_alias_moved_in_the_registry_reaches_the_server_without_a_push():
    with fake_server(**FAST) as (client, registry):
        registry.aliases["B"] = "3"
        health = _wait(client, lambda h: _served(h, "B") == "3")
        assert _served(health, "B") == "3" and _served(health, "A") == "1"
        check = health["alias_watch"]["aliases"]["B"]
        assert check["registry_version"] == "3" and check["checked_at"] and check["error"] is None
        assert client.post("/variant/B/predict", json={"data": [[1, 1, 1, 1]]}).json()["predictions"] == [12]


def test_the_ramp_step_in_the_registry_reaches_the_routing_and_a_new_challenger_starts_at_the_first():
    """Every replica routes the share the registry's ramp state names (the same call as the aliases)."""
    with fake_server(alias_selection_mode="ramp", ramp_steps="1,5,50", **FAST) as (client, registry):
        assert client.get("/health").json()["routing"]["configured_split"] == {"A": 99, "B": 1}
        registry.tags[RAMP_TAG] = RampState("2", "1", 2, 1_700_000_000.0, 1_699_999_000.0).to_tag()
        health = _wait(client, lambda h: h["routing"]["configured_split"]["B"] == 50)
        ramp = health["routing"]["ramp"]
        assert (ramp["step"], ramp["challenger_version"], ramp["champion_version"]) == (2, "2", "1")
        assert ramp["steps"] == [1, 5, 50] and ramp["step_since"].startswith("2023-11-14T22:13:20")
        ids = [f"client-{i}" for i in range(400)]
        answered = [client.post("/predict", json={"data": [[1, 1, 1, 1]]}, headers={"x-client-id": i}) for i in ids]
        assert 100 < sum(a.headers["x-model-variant"] == "B" for a in answered) < 300
        registry.tags[DECISION_TAG] = json.dumps(
            {
                "action": "hold",
                "challenger": "2",
                "champion": "1",
                "step": 2,
                "at": 1.7e9,
                "reason": "holding: ...",
                "readings": [],
            }
        )
        ramp = _wait(client, lambda h: client.get("/ramp").json()["decision"]) and client.get("/ramp").json()
        assert (ramp["share_percent"], ramp["step"], ramp["decision"]["action"]) == (50, 2, "hold")
        registry.aliases["B"] = "3"  # a new challenger: the state names v2, so v3 starts at 1%
        _wait(client, lambda h: _served(h, "B") == "3")
        health = client.get("/health").json()  # read after the swap (the wait read /health, then /models)
        assert health["routing"]["configured_split"]["B"] == 1 and health["routing"]["ramp"]["step"] == 0
        ramp = client.get("/ramp").json()  # the decision was about v2: not shown for v3
        assert (ramp["share_percent"], ramp["challenger_version"], ramp["decision"]) == (1, "3", None)


def test_a_replica_started_mid_ramp_routes_the_current_step_from_its_first_request():
    """The tags are read before the start-up load: with the watch off, nothing else could give it."""
    registry = FakeRegistry()
    registry.aliases["B"] = "2"
    registry.tags[RAMP_TAG] = RampState("2", "1", 1, 1_700_000_000.0, 1_699_999_000.0).to_tag()
    with fake_server(registry, alias_selection_mode="ramp", ramp_steps="1,5,50", alias_poll_seconds=0) as (client, _):
        assert client.get("/ramp").json()["step"] == 1
        assert client.get("/health").json()["routing"]["configured_split"] == {"A": 95, "B": 5}


def test_a_registry_that_cannot_answer_unloads_nothing_and_the_watch_backs_off_then_converges():
    with fake_server(**FAST) as (client, registry):
        _wait(client, lambda h: h["alias_watch"]["aliases"]["A"]["checked_at"])
        registry.down = True
        health = _wait(client, lambda h: h["alias_watch"]["failed_calls"] >= 3)
        assert (
            health["alias_watch"]["failed_calls"] >= 3
            and "unreachable" in health["alias_watch"]["aliases"]["A"]["error"]
        )
        assert sorted(health["loaded_variants"]) == ["A", "B"]
        assert client.post("/predict", json={"data": [[1, 1, 1, 1]]}).status_code == 200
        registry.aliases["A"] = "4"
        registry.down = False
        health = _wait(client, lambda h: _served(h, "A") == "4")
        assert _served(health, "A") == "4" and health["alias_watch"]["failed_calls"] == 0


def test_the_backoff_doubles_per_failed_call_up_to_its_cap():
    watch = AliasWatch(2.0, FakeRegistry(), None)  # type: ignore[arg-type]
    delays = []
    for failures in range(6):
        watch.failures = failures
        delays.append(watch.delay_s())
    assert delays == [2.0, 4.0, 8.0, MAX_BACKOFF_S, MAX_BACKOFF_S, MAX_BACKOFF_S]
    assert AliasWatch(60.0, FakeRegistry(), None).delay_s() == 60.0  # type: ignore[arg-type]


def test_a_version_that_fails_to_load_here_keeps_the_old_model_and_is_not_retried_every_interval():
    registry = FakeRegistry()
    registry.kinds["3"] = ErrorModel
    with fake_server(registry, **FAST) as (client, _):
        registry.aliases["B"] = "3"
        # /health and /models are read one after the other: wait until both say it
        health = _wait(
            client,
            lambda h: "corrupt on purpose" in (h["alias_watch"]["aliases"]["B"]["error"] or "") and h["problems"],
        )
        assert _served(health, "B") == "2" and health["problems"] == ["B"]
        assert "corrupt on purpose" in health["models"]["B"]["last_error"]
        lookups = registry.resolved
        time.sleep(0.5)  # ten intervals: the failed version is left alone (FAILED_RETRY_S)
        assert registry.resolved == lookups
        registry.aliases["B"] = "4"  # a newer version is tried at once
        assert _served(_wait(client, lambda h: _served(h, "B") == "4"), "B") == "4"


def test_an_alias_removed_from_the_registry_keeps_its_model_serving():
    with fake_server(**FAST) as (client, registry):
        del registry.aliases["B"]
        checked = _wait(
            client,
            lambda h: (
                h["alias_watch"]["failed_calls"] == 0
                and h["alias_watch"]["aliases"]["B"]["checked_at"]
                and h["alias_watch"]["aliases"]["B"]["registry_version"] is None
            ),  # a check after the removal
        )
        time.sleep(0.2)
        health = {**client.get("/health").json(), **client.get("/models").json()}
        assert checked["alias_watch"]["aliases"]["B"]["registry_version"] is None
        assert _served(health, "B") == "2" and health["loaded_variants"] == ["A", "B"]


def test_a_stale_reading_never_moves_the_served_version_away_from_what_the_registry_says_now():
    """The watch read v2, a push then brought v3 (the registry's alias now): the watch's queued
    reload of v2 is refused (409) and v3 keeps serving."""
    registry = FakeRegistry()
    variants = VariantRegistry(fake_settings(), registry, registry.new_runtime)

    async def scenario():
        await variants.load_all()
        registry.aliases["B"] = "3"
        await variants.reload(Alias.B, "3")  # the push
        with pytest.raises(ModelLoadError) as refused:
            await variants.converge(Alias.B, "2", 30)  # the watch, late
        assert refused.value.status == 409
        assert await variants.converge(Alias.B, "3", 30) is None  # served already: nothing loaded

    asyncio.run(scenario())
    assert variants.served_version(Alias.B) == "3"
    variants.close()


def test_the_watch_is_off_with_zero_seconds():
    with fake_server(alias_poll_seconds=0) as (client, registry):
        registry.aliases["B"] = "3"
        time.sleep(0.3)
        health = {**client.get("/health").json(), **client.get("/models").json()}
        assert _served(health, "B") == "2" and health["alias_watch"]["interval_s"] == 0
        assert health["alias_watch"]["aliases"]["B"]["checked_at"] is None
