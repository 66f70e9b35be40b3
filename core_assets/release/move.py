"""Release = move an alias in the registry, then hot-swap and verify every model-server replica."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster import MetadataValue

from core_assets.release.registry import AliasMove, Lever, move_alias
from mlops_base.aliases import Alias
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


def release(
    client: RegistryClient,
    fleet: Fleet | None,
    log: logging.Logger,
    *,
    model_name: str,
    alias: Alias,
    version: str | None,
    reason: str,
    lever: Lever,
    trigger: str,
    run_id: str,
) -> Deployment:
    """Move `alias` to `version`, then hot-swap every replica of the model server, if there is one.

    RegistryError when the registry refuses (nothing changed). Once the alias has moved, a replica
    that fails the hot-swap is reported, not raised: the move happened and must be recorded.
    `version=None` removes the alias; the replicas then keep the model they have loaded.
    """
    move = move_alias(client, model_name, alias, version, reason, lever=lever, trigger=trigger, run_id=run_id)
    log.info(
        "alias %s of %s moved v%s -> v%s (%s)",
        alias,
        model_name,
        move.before_version or "none",
        move.after_version or "none",
        reason,
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
