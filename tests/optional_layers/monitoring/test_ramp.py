"""The ramp end to end, every component real: a model server in ramp mode with the monitoring layer,
Prometheus scraping it every second, real traffic through /predict (the server's split), the ramp
sensor ticking in a real Dagster daemon, which runs the promotion or the rollback.

A challenger that fails on 5% of requests is rolled back during the 1% step, the interval in the
reason; a challenger identical to the champion climbs every step and is promoted (RAMP_MARGIN and
RAMP_MIN_EXPOSURE shortened so that the test's traffic is enough evidence)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
from dagster import AssetKey, RunsFilter
from mlflow import MlflowClient

from core_assets.lib.data import builtin_features
from core_assets.release.history import alias_moves
from core_assets.release.registry import register_version
from mlops_base.ramp import DECISION_TAG
from mlops_platform.release_watch import served_version, wait_for
from tests.handmade_versions import register_failing_version
from tests.optional_layers.monitoring.conftest import daemon_platform

pytestmark = pytest.mark.slow
RAMP = {"ALIAS_SELECTION_MODE": "ramp", "RAMP_STEPS": "1,5,25,50"}


def _ramped(settings, fresh_model, envs, tmp_path, challenger: str, rows: list, daemon_env: dict, until) -> tuple:
    """Serve A = v1 and release `challenger` on B in ramp mode, send `rows`, run the daemon until
    `until(server_url)`; the registry's last decision, the decisions on the `ramp` asset's page
    (newest first), the alias history and what GET /ramp said along the way."""
    with daemon_platform(settings, fresh_model.name, tmp_path, {**envs, **RAMP, "ALIAS_POLL_SECONDS": "1"}) as platform:
        instance, url = platform.instance, platform.server.url
        by_ramp = RunsFilter(tags={"mlops/trigger": "ramp"})
        earlier = {r.run_id for r in instance.get_runs(by_ramp)}  # the worker's instance is shared
        platform.release(challenger, "a new challenger")
        # one client: enough evidence for each step, and the suite's other tests keep their cores
        platform.traffic("/predict", rows)
        platform.daemon({**envs, **RAMP, **daemon_env})
        registry = MlflowClient(settings.mlflow_tracking_uri)
        seen: list[dict] = []  # GET /ramp while it runs, each time it said something new

        def ended() -> bool:
            now = httpx.get(f"{url}/ramp").json()
            if now["decision"] and (not seen or now["decision"] != seen[-1]["decision"]):
                seen.append(now)
            return until(url)

        try:
            wait_for("the ramp's end", ended, timeout_s=240)
        except TimeoutError as exc:
            last = registry.get_registered_model(fresh_model.name).tags.get(DECISION_TAG)
            raise AssertionError(f"{exc}; the ramp's last decision: {last}") from exc
        [run] = [r for r in instance.get_runs(by_ramp) if r.run_id not in earlier]
        assert run.tags["dagster/sensor_name"] == "ramp_sensor"
        platform.finished(run.run_id)
        observed = instance.fetch_observations(AssetKey("ramp"), limit=1_000).records
        decisions = [r.asset_observation.metadata["action"].value for r in observed]
        tags = registry.get_registered_model(fresh_model.name).tags
        return json.loads(tags[DECISION_TAG]), decisions, alias_moves(instance), seen


def test_a_challenger_failing_on_5_percent_of_requests_is_rolled_back_during_the_1_percent_step(
    settings, fresh_model, envs_with_monitoring, tmp_path
):
    before = fresh_model.versions[-1]
    failing = register_failing_version(settings.mlflow_tracking_uri, fresh_model.name)
    features = builtin_features()
    x, y = features.x_train.to_numpy(), features.y_train.to_numpy()
    others, virginica = x[y != 2], x[y == 2]
    rng = np.random.default_rng(0)
    # 5% of requests are rows the failing model cannot answer
    rows = [(virginica if rng.random() < 0.05 else others)[rng.integers(0, 30)].tolist() for _ in range(2_000)]
    _, decisions, moves, _ = _ramped(
        settings,
        fresh_model,
        envs_with_monitoring,
        tmp_path,
        failing,
        rows,
        {},
        lambda url: served_version(url, "B") == before,
    )
    assert "abort" in decisions and "advance" not in decisions, decisions  # stopped at 1%
    [rollback, *_] = moves
    assert (rollback.alias, rollback.before_version, rollback.after_version) == ("B", failing, before)
    assert rollback.trigger == "ramp", rollback
    assert rollback.reason.startswith("abort at 1%: errors: B ") and "B worse by [+" in rollback.reason


def test_a_challenger_identical_to_the_champion_climbs_every_step_and_is_promoted(
    settings, fresh_model, envs_with_monitoring, tmp_path, trained_pair
):
    champion = fresh_model.versions[0]
    registry = MlflowClient(settings.mlflow_tracking_uri)
    twin = str(register_version(registry, fresh_model.name, trained_pair[0].model_uri, trained_pair[0].run_id).version)
    rows = builtin_features().x_train.to_numpy()[:50].tolist()
    decision, decisions, moves, seen = _ramped(
        settings,
        fresh_model,
        envs_with_monitoring,
        tmp_path,
        twin,
        rows,
        {"RAMP_MARGIN": "0.05", "RAMP_MIN_EXPOSURE": "PT3S"},
        lambda url: served_version(url, "A") == twin,
    )
    assert decision["action"] == "promote" and decision["step"] == 3, decision
    assert decisions.count("advance") == 3 and "abort" not in decisions, decisions
    [midway, *_] = [r for r in seen if r["step"] >= 1 and r["decision"]["readings"]]
    print(json.dumps(midway, indent=2))  # the progressive delivery guide shows one
    assert {r["guardrail"] for r in midway["decision"]["readings"]} == {"errors", "latency"}
    assert all(len(r["worse_by"]) == 2 for r in midway["decision"]["readings"])
    assert decision["reason"].startswith("promote after 50%: errors: B 0 ")
    [promotion, *_] = moves
    assert (promotion.alias, promotion.before_version, promotion.after_version) == ("A", champion, twin)
    assert promotion.trigger == "ramp" and promotion.lever == "promote"
