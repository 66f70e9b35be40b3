"""The three levers that move an alias, all through `served_alias`: release, rollback, promote.

A job names its lever with the `mlops/lever` run tag (jobs set it, so it holds whatever run
config is given); `plan_move` turns the lever and the config into one `PlannedMove`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

from dagster import DagsterRun

from core_assets.release.history import trigger_of
from core_assets.release.registry import Lever, MoveRefused, PlannedMove, alias_version
from mlops_base.aliases import CHALLENGER, CHAMPION, Alias

if TYPE_CHECKING:
    from mlops_base.registry_rest import RegistryClient

LEVER_TAG = "mlops/lever"


@dataclass(frozen=True)
class MoveRequest:
    """What a run asked for (its `served_alias` config): empty fields are decided by the lever."""

    alias: Alias | None = None
    version: str | None = None
    remove: bool = False
    reason: str = ""
    # the versions the aliases must still point to (those a decision judged); else nothing moves
    expect: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReleaseRun:
    """The run a move happens in: its lever, what launched it, its id, and (for a release) the
    version the graph registered: this run's own, else the latest."""

    lever: str
    trigger: str
    run_id: str
    registered_version: str | None = None

    @classmethod
    def of(cls, run: DagsterRun, registered: Mapping[str, Any] | None) -> ReleaseRun:
        """`registered`: `registered_model_version`'s value as the run received it (a run that
        registered a version releases that one, even if another registered since)."""
        version = None if registered is None else str(registered["version"])
        return cls(run.tags.get(LEVER_TAG, "release"), trigger_of(run.tags), run.run_id, version)


def plan_move(
    request: MoveRequest, run: ReleaseRun, client: RegistryClient, model_name: str, target_alias: Alias
) -> PlannedMove:
    """The one move the lever and the request make; MoveRefused when there is nothing valid to do."""
    lever = run.lever
    if lever not in get_args(Lever):
        raise MoveRefused(f"unknown lever {lever!r} in the run's {LEVER_TAG} tag; known: {get_args(Lever)}")
    if request.remove and request.version:
        raise MoveRefused("give either a version or remove: true, not both")

    for alias, judged in sorted(request.expect.items()):
        now = alias_version(client, model_name, Alias(alias))
        if now != judged:
            raise MoveRefused(
                f"the decision judged {alias}=v{judged}, but alias {alias} points to v{now} now: "
                "nothing moves (a decision holds for the versions it judged)"
            )

    def planned(alias: Alias, version: str | None, reason: str) -> PlannedMove:
        return PlannedMove(model_name, alias, version, request.reason or reason, lever, run.trigger, run.run_id)

    if lever == "promote":
        version = alias_version(client, model_name, CHALLENGER)
        if version is None:
            raise MoveRefused(f"no challenger: alias {CHALLENGER} is not set, nothing to promote")
        return planned(request.alias or CHAMPION, version, f"promote challenger v{version} to champion")
    alias = request.alias or target_alias
    if request.remove:
        return planned(alias, None, f"{lever}: remove alias {alias}")
    if lever == "rollback" and not request.version:
        raise MoveRefused("a rollback needs the version to restore (or remove: true)")
    version = request.version or run.registered_version
    if version is None:
        raise MoveRefused("the graph has registered no version yet; give one in the config")
    return planned(alias, version, f"{lever} of v{version}")


def rollback_run_config(
    alias: Alias, version: str | None, reason: str, expect: Mapping[str, str] | None = None
) -> dict:
    """rollback_job's run config restoring `version` on `alias` (None: remove the alias), for
    `reason`; `expect`: the versions the aliases must still point to (else the run refuses)."""
    target = {"version": version} if version else {"remove": True}
    config = {"alias": str(alias), **target, "reason": reason, **({"expect": dict(expect)} if expect else {})}
    return {"ops": {"served_alias": {"config": config}}}


def promote_run_config(reason: str, expect: Mapping[str, str] | None = None) -> dict:
    """promote_job's run config: the champion takes the challenger's version, for `reason`;
    `expect`: the versions the aliases must still point to (else the run refuses)."""
    return {"ops": {"served_alias": {"config": {"reason": reason, **({"expect": dict(expect)} if expect else {})}}}}
