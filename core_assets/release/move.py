"""Release = move an alias in the registry, then hot-swap and verify every model-server replica."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckResult, MetadataValue

from core_assets.release.registry import AliasMove, PlannedMove, move_alias
from serving_client import Fleet

if TYPE_CHECKING:
    from mlops_base.registry_rest import RegistryClient


@dataclass(frozen=True)
class Deployment:
    """An alias move and what the model-server replicas did about it."""

    move: AliasMove
    serving_ok: bool  # every replica serves the moved version (or there is nothing to verify)
    detail: str
    replicas: dict[str, dict[str, str | None]] = field(default_factory=dict)  # url -> served, error


def release(client: RegistryClient, fleet: Fleet | None, plan: PlannedMove, log: logging.Logger) -> Deployment:
    """Make the planned move, then hot-swap every replica of the model server, if there is one.

    MoveRefused when the registry refuses (nothing changed). Once the alias has moved, a replica
    that fails the hot-swap is reported, not raised: the move happened and must be recorded.
    A plan without a version removes the alias; the replicas then keep the model they have loaded.
    """
    move = move_alias(client, plan)
    alias, version = plan.alias, plan.version
    log.info(
        "alias %s of %s moved v%s -> v%s (%s)",
        alias,
        plan.model_name,
        move.before_version or "none",
        move.after_version or "none",
        plan.reason,
    )
    if fleet is None:
        return Deployment(move, True, "SERVING_URL is not set: no model server to hot-swap")
    if version is None:
        for outcome in fleet.reload(alias):  # each refuses (404), keeps its model and says why in /health
            log.info("alias %s removed: %s keeps its loaded model (%s)", alias, outcome.url, outcome.error)
        return Deployment(move, True, f"alias {alias} removed: the model server keeps its loaded model")
    result = fleet.hot_swap(alias, str(version))
    (log.info if result.ok else log.warning)("%s", result.detail())
    detail = result.detail() if result.ok else f"alias {alias} moved, but {result.detail()}"
    return Deployment(move, result.ok, detail, result.as_dict())


def move_metadata(move: AliasMove, model_url: str) -> dict[str, Any]:
    """Materialization metadata for one alias move: the Dagster event log is the audit log."""
    return {**move.as_dict(), "registry": MetadataValue.url(model_url)}


def serving_check(name: str, deployment: Deployment) -> AssetCheckResult:
    """The blocking check's result: every replica serves the moved version, or which do not."""
    replicas = {"replicas": MetadataValue.json(deployment.replicas)} if deployment.replicas else {}
    return AssetCheckResult(
        check_name=name, passed=deployment.serving_ok, description=deployment.detail, metadata=replicas
    )
