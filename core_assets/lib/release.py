"""Release = move an alias in the registry, then hot-swap and verify the model server."""

from __future__ import annotations

import logging
from typing import Any

from mlflow import MlflowClient

from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.registry import AliasMove, move_alias
from serving.client import ServingClient, ServingError


class DeployError(RuntimeError):
    """The alias moved but the model server did not end up serving the new version."""

    def __init__(self, message: str, move: AliasMove):
        super().__init__(message)
        self.move = move


def hot_swap(server: ServingClient, alias: str, version: str) -> None:
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
    alias: str,
    version: str | None,
    reason: str,
    run_id: str,
) -> AliasMove:
    """Move `alias` to `version` (history recorded), then hot-swap the server if one is configured.

    `version=None` removes the alias; the server then keeps the model it has loaded.
    """
    move = move_alias(client, model_name, alias, version, reason, run_id)
    log.info(
        "alias %s of %s moved v%s -> v%s (%s)",
        alias, model_name, move.before_version or "none", move.after_version or "none", reason,
    )
    if server is None:
        log.info("SERVING_URL is not set: skipping the model-server hot-swap of alias %s", alias)
        return move
    if version is None:
        try:  # the server refuses (404) and records why in /health, keeping its loaded model
            server.reload(alias)
        except ServingError as exc:
            log.warning("alias %s removed: the model server keeps its loaded model (%s)", alias, exc)
        return move
    try:
        hot_swap(server, alias, str(version))
    except ServingError as exc:
        error = DeployError(f"hot-swap of {alias} to v{version} failed: {exc}", move)
        emit_lifecycle_event("deploy_failed", {**move.as_dict(), "error": str(error)}, log)
        raise error from exc
    log.info("model server now serves %s=v%s", alias, version)
    return move


def move_metadata(move: AliasMove, model_url: str) -> dict[str, Any]:
    """Materialization metadata for one alias move: the Dagster event log is the audit log."""
    return {
        "alias": move.alias,
        "before_version": move.before_version,
        "after_version": move.after_version,
        "reason": move.reason,
        "run_id": move.run_id,
        "moved_at": move.moved_at,
        "model_name": move.model_name,
        "registry": model_url,
    }
