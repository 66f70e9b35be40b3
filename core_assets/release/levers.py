"""The three levers that move an alias, all through `served_alias`: release, rollback, promote.

A job names its lever with the `mlops/lever` run tag (jobs set it, so it holds whatever run
config is given); `plan_move` turns the lever and the config into one concrete move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, get_args

from dagster import DagsterInstance

from core_assets.release.history import latest_registered_version, registered_in_run
from core_assets.release.registry import Lever, RegistryError, alias_version
from mlops_base.aliases import CHALLENGER, CHAMPION, Alias
from mlops_base.settings import Settings

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


def plan_move(
    lever: str,
    config: MoveRequest,
    settings: Settings,
    client: RegistryClient,
    model_name: str,
    instance: DagsterInstance,
    run_id: str,
) -> tuple[Alias, str | None, str]:
    """(alias, version or None to remove it, reason); RegistryError when there is nothing valid to do."""
    if lever not in get_args(Lever):
        raise RegistryError(f"unknown lever {lever!r} in the run's {LEVER_TAG} tag; known: {get_args(Lever)}")
    if config.remove and config.version:
        raise RegistryError("give either a version or remove: true, not both")
    if lever == "promote":
        version = alias_version(client, model_name, CHALLENGER)
        if version is None:
            raise RegistryError(f"no challenger: alias {CHALLENGER} is not set, nothing to promote")
        return config.alias or CHAMPION, version, config.reason or f"promote challenger v{version} to champion"
    alias = config.alias or settings.target_alias
    if config.remove:
        return alias, None, config.reason or f"{lever}: remove alias {alias}"
    if lever == "rollback" and not config.version:
        raise RegistryError("a rollback needs the version to restore (or remove: true)")
    # a run that registered a version releases that one (even if another run registered since)
    version = config.version or registered_in_run(instance, run_id) or latest_registered_version(instance)
    if version is None:
        raise RegistryError("the graph has registered no version yet; give one in the config")
    return alias, version, config.reason or f"{lever} of v{version}"


def rollback_run_config(alias: Alias, version: str | None, reason: str) -> dict:
    """rollback_job's run config restoring `version` on `alias` (None: remove the alias)."""
    target = {"version": version} if version else {"remove": True}
    return {"ops": {"served_alias": {"config": {"alias": str(alias), **target, "reason": reason}}}}


def promote_run_config(reason: str) -> dict:
    """promote_job's run config: the champion takes the challenger's version, for `reason`."""
    return {"ops": {"served_alias": {"config": {"reason": reason}}}}
