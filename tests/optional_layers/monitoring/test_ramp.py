"""The ramp end to end, every component real: two model-server replicas in ramp mode behind HAProxy
with the monitoring layer, Prometheus scraping each every second, real traffic through the balancer
(the servers' split), the ramp sensor ticking in a real Dagster daemon, which runs the promotion or
the rollback.

A challenger that fails on 5% of requests is rolled back during the 1% step, the interval in the
reason; a challenger identical to the champion climbs every step and is promoted (RAMP_MARGIN and
RAMP_MIN_EXPOSURE shortened so that the test's traffic is enough evidence), the replicas routing the
same step throughout and one restarted mid-ramp resuming the current step; `./mlops status` shows it.

"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import httpx
import numpy as np
import pytest
from dagster import AssetKey, RunsFilter
from mlflow import MlflowClient

from core_assets.lib.data import builtin_features
from core_assets.release.history import alias_moves
from core_assets.release.registry import register_version
from mlops_base.ramp import DECISION_TAG, RAMP_TAG, RampState
from mlops_platform.release_watch import served_version, wait_for
from tests.handmade_versions import register_failing_version
from tests.optional_layers.monitoring.conftest import daemon_platform

pytestmark = pytest.mark.slow
RAMP = {"ALIAS_SELECTION_MODE": "ramp", "RAMP_STEPS": "1,5,25,50"}
MLOPS = str(Path(sys.executable).parent / "mlops")


class RampRun(NamedTuple):
    decision: dict  # the registry's last decision
    decisions: list[str]  # the actions on the `ramp` asset's page, newest first
    moves: list  # the alias history, newest first
    seen: list[dict]  # GET /ramp along the way, each time it said something new
    disagreed_s: float  # the longest the replicas routed different steps
    restarted_at: tuple[int, int, int] | None  # the registry's step, the restarted replica's, the registry's
    status: str  # `./mlops status` on a step after the first


def _steps(platform) -> list[int]:
    return [httpx.get(f"{r.url}/ramp", timeout=5).json()["step"] for r in platform.replicas]


def _registry_step(registry: MlflowClient, name: str) -> int:
    state = RampState.from_tag(registry.get_registered_model(name).tags.get(RAMP_TAG))
    return -1 if state is None else state.step


def _status(platform, envs: dict, tmp_path) -> str:
    """`./mlops status` as a user runs it against this platform's registry and replicas."""
    env = {
        **os.environ,
        **envs,
        **RAMP,
        "MLFLOW_TRACKING_URI": platform.settings.mlflow_tracking_uri,
        "MODEL_NAME": platform.settings.model_name,
        "SERVING_REPLICA_URLS": ",".join(r.url for r in platform.replicas),
        "MLOPS_STATE_DIR": str(tmp_path / "status-state"),
    }
    done = subprocess.run([MLOPS, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done
    return done.stdout


def _ramped(
    settings,
    fresh_model,
    envs,
    tmp_path,
    challenger: str,
    rows: list,
    daemon_env: dict,
    until,
    restart: bool = False,
    clients: int = 1,
) -> RampRun:
    """Serve A = v1 and release `challenger` on B in ramp mode, send `rows` from `clients` threads,
    run the daemon until `until(balancer_url)`; with `restart`, replica 2 is restarted once the ramp
    is past its first step."""
    server_env = {**envs, **RAMP, "ALIAS_POLL_SECONDS": "1"}
    with daemon_platform(settings, fresh_model.name, tmp_path, server_env, replicas=2) as platform:
        instance, url = platform.instance, platform.server.url
        by_ramp = RunsFilter(tags={"mlops/trigger": "ramp"})
        earlier = {r.run_id for r in instance.get_runs(by_ramp)}  # the worker's instance is shared
        platform.release(challenger, "a new challenger")
        # the release reloads every replica; `until` reads through the balancer: both must serve it
        wait_for(
            "every replica serving the challenger",
            lambda: all(served_version(r.url, "B") == challenger for r in platform.replicas),
            timeout_s=30,
        )
        # each request waits on the balancer and a replica: a second client halves the time an abort
        # needs (a number of B's requests) for the same CPU; the climb's steps last what they last
        platform.traffic("/predict", rows, clients)
        platform.daemon({**envs, **RAMP, **daemon_env})
        registry = MlflowClient(settings.mlflow_tracking_uri)
        seen: list[dict] = []
        disagreeing: list[float] = []  # since when the replicas route different steps ([]: they agree)
        longest, restarted_at, status = 0.0, None, ""

        def ended() -> bool:
            nonlocal longest, restarted_at, status
            now = httpx.get(f"{url}/ramp").json()
            if now["decision"] and (not seen or now["decision"] != seen[-1]["decision"]):
                seen.append(now)
            if len(set(_steps(platform))) > 1:
                disagreeing[:] = disagreeing or [time.monotonic()]
                longest = max(longest, time.monotonic() - disagreeing[0])
            else:
                disagreeing.clear()
            if restart and restarted_at is None and now["step"] >= 1:
                status = _status(platform, envs, tmp_path)
                # the ramp may advance while the replica restarts: it must route a step the registry
                # named in between (read before and after), never the first step again
                before = _registry_step(registry, fresh_model.name)
                platform.restart_replica(1)
                resumed = httpx.get(f"{platform.replicas[1].url}/ramp", timeout=5).json()["step"]
                restarted_at = (before, resumed, _registry_step(registry, fresh_model.name))
                disagreeing.clear()  # a replica that was down routed nothing
            return until(url)

        try:
            wait_for("the ramp's end", ended, timeout_s=360)  # ~40,000 requests on a loaded host
        except TimeoutError as exc:
            last = registry.get_registered_model(fresh_model.name).tags.get(DECISION_TAG)
            raise AssertionError(f"{exc}; the ramp's last decision: {last}") from exc
        [run] = [r for r in instance.get_runs(by_ramp) if r.run_id not in earlier]
        assert run.tags["dagster/sensor_name"] == "ramp_sensor"
        platform.finished(run.run_id)
        observed = instance.fetch_observations(AssetKey("ramp"), limit=1_000).records
        decisions = [r.asset_observation.metadata["action"].value for r in observed]
        tags = registry.get_registered_model(fresh_model.name).tags
        moves = alias_moves(instance)
        return RampRun(json.loads(tags[DECISION_TAG]), decisions, moves, seen, longest, restarted_at, status)


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
    ran = _ramped(
        settings,
        fresh_model,
        envs_with_monitoring,
        tmp_path,
        failing,
        rows,
        {},
        lambda url: served_version(url, "B") == before,
        clients=2,
    )
    assert "abort" in ran.decisions and "advance" not in ran.decisions, ran.decisions  # stopped at 1%
    [rollback, *_] = ran.moves
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
    ran = _ramped(
        settings,
        fresh_model,
        envs_with_monitoring,
        tmp_path,
        twin,
        rows,
        {"RAMP_MARGIN": "0.05", "RAMP_MIN_EXPOSURE": "PT3S"},
        lambda url: served_version(url, "A") == twin,
        restart=True,
    )
    decision = ran.decision
    assert decision["action"] == "promote" and decision["step"] == 3, decision
    assert ran.decisions.count("advance") == 3 and "abort" not in ran.decisions, ran.decisions
    # every replica routes the step the registry names within ALIAS_POLL_SECONDS (1 s; this loop
    # reads them one after the other, every 0.2 s and more under load)
    print(f"replicas disagreed for {ran.disagreed_s:.2f} s at most; restarted: {ran.restarted_at}")
    assert ran.disagreed_s <= 3, ran.disagreed_s
    before, resumed, after = ran.restarted_at
    assert 1 <= before <= resumed <= after, ran.restarted_at  # not back to the first step
    print(ran.status)  # the progressive delivery guide shows it
    [ramp_line] = [line for line in ran.status.splitlines() if line.startswith("ramp: ")]
    assert ramp_line.startswith(f"ramp: B v{twin} against A v{champion} at ") and "of 4: 1%, 5%, 25%, 50%)" in ramp_line
    assert re.search(r"^  last decision \(\S+ \S+\): (advance|hold): ", ran.status, re.MULTILINE), ran.status
    [midway, *_] = [r for r in ran.seen if r["step"] >= 1 and r["decision"]["readings"]]
    print(json.dumps(midway, indent=2))  # the progressive delivery guide shows one
    assert {r["guardrail"] for r in midway["decision"]["readings"]} == {"errors", "latency"}
    assert all(len(r["worse_by"]) == 2 for r in midway["decision"]["readings"])
    assert decision["reason"].startswith("promote after 50%: errors: B 0 ")
    [promotion, *_] = ran.moves
    assert (promotion.alias, promotion.before_version, promotion.after_version) == ("A", champion, twin)
    assert promotion.trigger == "ramp" and promotion.lever == "promote"
