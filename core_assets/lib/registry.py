"""Registry operations: register a version, move an alias, keep the alias history."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode


class RegistryError(RuntimeError):
    """A registry operation was refused; the registry was left unchanged."""


@dataclass(frozen=True)
class AliasMove:
    """One alias move: the unit of the alias history."""

    model_name: str
    alias: str
    before_version: str | None
    after_version: str | None  # None: the alias was removed
    reason: str
    run_id: str
    moved_at: str

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _not_found(exc: MlflowException) -> bool:
    return exc.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)


def register_version(client: MlflowClient, model_name: str, model_uri: str, run_id: str):
    """Register the run's logged model as a new version of `model_name`."""
    try:
        client.get_registered_model(model_name)
    except MlflowException as exc:
        if not _not_found(exc):
            raise
        client.create_registered_model(model_name, description="Managed by the core asset graph.")
    return mlflow.register_model(model_uri, model_name, await_registration_for=0, tags={"run_id": run_id})


def alias_version(client: MlflowClient, model_name: str, alias: str) -> str | None:
    """The version `alias` points to, or None when the alias (or the model) does not exist."""
    try:
        aliases = client.get_registered_model(model_name).aliases
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise
    version = aliases.get(alias)
    return None if version is None else str(version)


def ready_version(client: MlflowClient, model_name: str, version: str):
    """The model version, if it exists and is READY; RegistryError otherwise."""
    try:
        model_version = client.get_model_version(model_name, str(version))
    except MlflowException as exc:
        if _not_found(exc):
            raise RegistryError(f"{model_name} version {version} does not exist") from exc
        raise
    if model_version.status != "READY":
        raise RegistryError(f"{model_name} version {version} is {model_version.status}, not READY")
    return model_version


def history_tag_key(move: AliasMove) -> str:
    stamp = datetime.fromisoformat(move.moved_at).strftime("%Y%m%dT%H%M%S%fZ")
    return f"alias_history.{move.alias}.{stamp}"


def move_alias(
    client: MlflowClient, model_name: str, alias: str, version: str | None, reason: str, run_id: str
) -> AliasMove:
    """Point `alias` at a READY `version` (None removes it), mirroring the move as registered-model tags.

    Tags: one `alias_history.<alias>.<time>` entry per move (never overwritten, so the history
    is never lost) and `alias.<alias>.*` keys with the latest move for quick reading.
    """
    if version is not None:
        ready_version(client, model_name, version)
    move = AliasMove(
        model_name=model_name,
        alias=alias,
        before_version=alias_version(client, model_name, alias),
        after_version=None if version is None else str(version),
        reason=reason,
        run_id=run_id,
        moved_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
    )
    history_key = history_tag_key(move)
    client.set_registered_model_tag(model_name, history_key, json.dumps(move.as_dict()))
    try:
        if version is None:
            if move.before_version is not None:
                client.delete_registered_model_alias(model_name, alias)
        else:
            client.set_registered_model_alias(model_name, alias, str(version))
    except MlflowException:
        client.delete_registered_model_tag(model_name, history_key)  # no record of a move that did not happen
        raise
    for field in ("before_version", "after_version", "reason", "run_id", "moved_at"):
        client.set_registered_model_tag(model_name, f"alias.{alias}.{field}", str(getattr(move, field) or ""))
    return move


def move_by_run(client: MlflowClient, model_name: str, run_id: str) -> AliasMove | None:
    """The alias move a Dagster run made, if any (the rollback sensor's source of before_version)."""
    moves = [m for m in alias_history(client, model_name) if m.run_id == run_id]
    return moves[-1] if moves else None


def alias_history(client: MlflowClient, model_name: str, alias: str | None = None) -> list[AliasMove]:
    """All recorded moves, oldest first (optionally of one alias); none for an unknown model."""
    try:
        tags = client.get_registered_model(model_name).tags
    except MlflowException as exc:
        if _not_found(exc):
            return []
        raise
    moves = [AliasMove(**json.loads(value)) for key, value in tags.items() if key.startswith("alias_history.")]
    return sorted((m for m in moves if alias in (None, m.alias)), key=lambda m: m.moved_at)
