"""Release = move an alias in the registry, then hot-swap and verify the model server."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from dagster import MetadataValue
from mlflow import MlflowClient

from core_assets.release.registry import AliasMove, Lever, move_alias
from mlops_base.aliases import Alias
from serving_client import ServingClient, ServingError


@dataclass(frozen=True)
class Deployment:
    """An alias move and what the model server did about it."""

    move: AliasMove
    serving_ok: bool  # the server serves the moved version (or has nothing to verify)
    detail: str


def hot_swap(server: ServingClient, alias: Alias, version: str) -> None:
    """Reload `alias` on the server and check through /models that it serves `version`."""
    server.reload(alias, version)
    served = server.served_version(alias)
    if served != str(version):
        raise ServingError(f"after reload the server serves {alias}=v{served}, expected v{version}")


def release(
    client: MlflowClient,
    server: ServingClient | None,
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
    """Move `alias` to `version`, then hot-swap the server if one is configured.

    RegistryError when the registry refuses (nothing changed). Once the alias has moved, a failed
    hot-swap is reported, not raised: the move happened and must be recorded. `version=None`
    removes the alias; the server then keeps the model it has loaded.
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
    if server is None:
        return Deployment(move, True, "SERVING_URL is not set: no model server to hot-swap")
    if version is None:
        try:  # the server refuses (404) and records why in /health, keeping its loaded model
            server.reload(alias)
        except ServingError as exc:
            log.warning("alias %s removed: the model server keeps its loaded model (%s)", alias, exc)
        return Deployment(move, True, f"alias {alias} removed: the model server keeps its loaded model")
    try:
        hot_swap(server, alias, str(version))
    except ServingError as exc:
        return Deployment(move, False, f"alias {alias} moved, but the hot-swap to v{version} failed: {exc}")
    log.info("model server now serves %s=v%s", alias, version)
    return Deployment(move, True, f"the model server serves {alias}=v{version}")


def move_metadata(move: AliasMove, model_url: str) -> dict[str, Any]:
    """Materialization metadata for one alias move: the Dagster event log is the audit log."""
    return {**move.as_dict(), "registry": MetadataValue.url(model_url)}
