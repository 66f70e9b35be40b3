"""`mlops rollback` and `mlops promote`: the manual levers through the one release path, the
`rollback_job` and `promote_job` runs of `served_alias` (what the Launchpad launches): the move is
planned, refused or recorded, alerted, and every replica hot-swapped and verified by the run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NamedTuple

import httpx
from dagster_graphql import DagsterGraphQLClientError

from core_assets.api import (
    PROMOTE_JOB,
    ROLLBACK_JOB,
    TRIGGER_TAG,
    mirrored_moves,
    promote_run_config,
    rollback_run_config,
)
from mlops_base import registry_rest as rest
from mlops_base.aliases import CHALLENGER, CHAMPION, Alias
from mlops_base.settings import Settings
from mlops_platform import runtime
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.status import Unreachable, registered_model

TRIGGER = "cli"  # the moves' trigger in the alias history


class Refused(Exception):
    """Nothing to do or nothing valid to ask for: no run was launched."""


class Outcome(NamedTuple):
    ok: bool
    text: str


def _model(registry_url: str, model_name: str) -> rest.RegisteredModel:
    model = registered_model(registry_url, model_name)
    if model is None:
        raise Refused(f"{model_name} has no registered version yet (./mlops materialize)")
    return model


def _version(version: str | None) -> str:
    return f"v{version}" if version else "no version"


def _run(dag: DagsterClient, job: str, run_config: dict, registry_url: str, model_name: str, alias: Alias) -> Outcome:
    before = _model(registry_url, model_name).aliases.get(alias)
    run_id = dag.submit(job, run_config, tags={TRIGGER_TAG: TRIGGER})
    status = dag.wait(run_id)
    after = _model(registry_url, model_name).aliases.get(alias)
    where = f"\n  run: {dag.run_url(run_id)}"
    if status != "SUCCESS":
        return Outcome(False, f"error: {job} {status}: {dag.failure(run_id)}; {alias} is at {_version(after)}{where}")
    return Outcome(True, f"{alias}: {_version(before)} -> {_version(after)}; every replica serves it (verified){where}")


def rollback(
    settings: Settings, registry_url: str, dag: DagsterClient, alias: Alias | None, to: str | None, reason: str
) -> Outcome:
    """Point `alias` (default: TARGET_ALIAS) back at `to` (default: its version before the last move)."""
    alias = alias or settings.target_alias
    model = _model(registry_url, settings.model_name)
    current = model.aliases.get(alias)
    if to is None:
        recorded = [move for move in mirrored_moves(model.tags) if move.alias == alias]
        if not recorded or not recorded[0].before_version:
            raise Refused(f"alias {alias} had no version before {_version(current)}: give --to VERSION")
        to = recorded[0].before_version
    if to == current:
        raise Refused(f"alias {alias} already points to v{to}: nothing to roll back")
    reason = reason or f"rollback of {alias} from {_version(current)} to v{to}"
    return _run(dag, ROLLBACK_JOB, rollback_run_config(alias, to, reason), registry_url, settings.model_name, alias)


def promote(settings: Settings, registry_url: str, dag: DagsterClient, reason: str) -> Outcome:
    """The champion (A) takes the challenger's (B) version."""
    aliases = _model(registry_url, settings.model_name).aliases
    challenger = aliases.get(CHALLENGER)
    if challenger is None:
        raise Refused(f"no challenger: alias {CHALLENGER} is not set, nothing to promote")
    if aliases.get(CHAMPION) == challenger:
        raise Refused(f"champion {CHAMPION} already serves the challenger's v{challenger}: nothing to promote")
    return _run(dag, PROMOTE_JOB, promote_run_config(reason), registry_url, settings.model_name, CHAMPION)


def run_lever(settings: Settings, move: Callable[[str, DagsterClient], Outcome]) -> int:
    """A lever against the env's running platform, printing the outcome: 0 moved and verified,
    1 the run failed, 2 refused or unreachable."""
    try:
        running = runtime.running(settings)
        if running is None:
            raise Unreachable(f"the {settings.mlops_env} platform is not running: start it with ./mlops up")
        outcome = move(running.urls["mlflow"], DagsterClient(settings.dagster_port))
    except Refused as exc:
        print(f"error: {exc}; nothing changed", file=sys.stderr)
        return 2
    except (Unreachable, httpx.HTTPError, DagsterGraphQLClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(outcome.text, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1
