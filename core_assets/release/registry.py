"""Registry operations: register a version, move an alias, keep the alias history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from core_assets.lib.schema import SCHEMA_TAG, signature_kinds
from mlops_base import registry_rest as rest
from mlops_base.aliases import MIRROR_PREFIX, Alias
from mlops_base.artifact_digest import DIGEST_TAG
from mlops_base.explain.background import BACKGROUND_TAG
from mlops_base.mlflow_client import use_fluent_api
from mlops_base.reference_profile import PROFILE_TAG

if TYPE_CHECKING:  # MLflow costs ~1 s of every load of the code location: each function imports it on use
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

# The release path (alias reads, moves, their history) speaks MLflow's REST API through
# `rest.RegistryClient`: importing MLflow cost ~0.8 s of every release and rollback run.


class MoveRefused(RuntimeError):
    """An alias move that cannot be made (no such version, not READY, nothing valid to do); the
    registry was left unchanged. (`mlops_base.registry_rest.RegistryError` is the registry
    answering with an error.)"""


Lever = Literal["release", "rollback", "promote"]

# the MLflow mirror of the alias history keeps this many moves (one tag each)
MIRROR_KEEP = 100


@dataclass(frozen=True)
class AliasMove:
    """One alias move: the unit of the alias history (primary store: the Dagster event log)."""

    model_name: str
    alias: Alias
    before_version: str | None
    after_version: str | None  # None: the alias was removed
    reason: str
    lever: Lever  # release, rollback or promote
    trigger: str  # what launched the run: a sensor, the automation, the UI, the CLI/API
    run_id: str
    moved_at: str
    registered_at: str | None = None  # when after_version was registered

    def as_dict(self) -> dict[str, str | None]:
        return {**asdict(self), "alias": str(self.alias)}  # plain strings: JSON, tags, metadata

    @classmethod
    def decode(cls, values: Mapping[str, Any]) -> AliasMove | None:
        """The move `as_dict` wrote (an MLflow mirror tag's JSON, a materialization's metadata
        values), or None when a required field is missing: the one reader of the alias history."""
        known = {name: value for name, value in values.items() if name in _MOVE_FIELDS}
        if not _REQUIRED_FIELDS <= set(known):
            return None
        return cls(**{**known, "alias": Alias(known["alias"])})


_MOVE_FIELDS = {f.name for f in fields(AliasMove)}
_REQUIRED_FIELDS = {f.name for f in fields(AliasMove) if f.default is MISSING}


def _not_found(exc: MlflowException) -> bool:
    return exc.error_code == "RESOURCE_DOES_NOT_EXIST"


def register_version(client: MlflowClient, model_name: str, model_uri: str, run_id: str):
    """Register the run's logged model as a new version of `model_name`."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model_name)
    except MlflowException as exc:
        if not _not_found(exc):
            raise
        client.create_registered_model(model_name, description="Managed by the core asset graph.")
    tags = {"run_id": run_id}
    run_tags = client.get_run(run_id).data.tags
    digest = run_tags.get(DIGEST_TAG)
    if digest:  # the model server refuses the version's artifacts if they no longer match it
        tags[DIGEST_TAG] = digest
    for tag in (PROFILE_TAG, BACKGROUND_TAG):  # the drift reference, the explanations' background
        if tag in run_tags:
            tags[tag] = run_tags[tag]
    use_fluent_api(client)
    return mlflow.register_model(model_uri, model_name, await_registration_for=0, tags=tags)


# what a registry call on the REST client raises besides a refusal: an error answer, or none
REGISTRY_ERRORS = (rest.RegistryError, rest.RegistryUnreachable)


def alias_version(client: rest.RegistryClient, model_name: str, alias: str) -> str | None:
    """The version `alias` points to, or None when the alias (or the model) does not exist."""
    try:
        return client.aliases(model_name).get(alias)
    except rest.RegistryError as exc:
        if exc.not_found:
            return None
        raise


def ready_version(client: rest.RegistryClient, model_name: str, version: str) -> rest.ModelVersion:
    """The model version, if it exists and is READY; MoveRefused otherwise."""
    try:
        model_version = client.model_version(model_name, str(version))
    except rest.RegistryError as exc:
        if exc.not_found:
            raise MoveRefused(f"{model_name} version {version} does not exist") from exc
        raise
    if model_version.status != "READY":
        raise MoveRefused(f"{model_name} version {version} is {model_version.status}, not READY")
    return model_version


def history_tag_key(move: AliasMove) -> str:
    stamp = datetime.fromisoformat(move.moved_at).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{MIRROR_PREFIX}{move.alias}.{stamp}"


def mirrored_moves(tags: Mapping[str, str]) -> list[AliasMove]:
    """The moves the registry's mirror keeps (a registered model's tags), newest first."""
    recorded = [AliasMove.decode(json.loads(value)) for key, value in tags.items() if key.startswith(MIRROR_PREFIX)]
    return sorted((m for m in recorded if m is not None), key=lambda move: move.moved_at, reverse=True)


def _iso_millis(epoch_ms: int | None) -> str | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat()


@dataclass(frozen=True)
class PlannedMove:
    """One alias move as decided, before it is made: the value the release path hands on."""

    model_name: str
    alias: Alias
    version: str | None  # None: remove the alias
    reason: str
    lever: Lever
    trigger: str  # what launched the run: a sensor, the automation, the UI, the CLI/API
    run_id: str


def move_alias(client: rest.RegistryClient, plan: PlannedMove) -> AliasMove:
    """Point the alias at the plan's READY version (None removes it), mirrored as one registered-model tag.

    MoveRefused (nothing changed) for a missing or not-READY version. The mirror tag is written
    first and deleted if the move fails, so MLflow never shows a move that did not happen; it
    keeps the newest MIRROR_KEEP moves.
    """
    model_name, alias, version = plan.model_name, plan.alias, plan.version
    target = None if version is None else ready_version(client, model_name, version)
    move = AliasMove(
        model_name=model_name,
        alias=alias,
        before_version=alias_version(client, model_name, alias),
        after_version=None if version is None else str(version),
        reason=plan.reason,
        lever=plan.lever,
        trigger=plan.trigger,
        run_id=plan.run_id,
        moved_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        registered_at=None if target is None else _iso_millis(target.creation_timestamp),
    )
    history_key = history_tag_key(move)
    client.set_model_tag(model_name, history_key, json.dumps(move.as_dict()))
    try:
        if version is None:
            if move.before_version is not None:
                client.delete_alias(model_name, alias)
        else:
            client.set_alias(model_name, alias, str(version))
    except REGISTRY_ERRORS:
        client.delete_model_tag(model_name, history_key)  # no record of a move that did not happen
        raise
    _trim_mirror(client, model_name)
    return move


def _trim_mirror(client: rest.RegistryClient, model_name: str) -> None:
    keys = sorted(
        (key for key in client.registered_model(model_name).tags if key.startswith(MIRROR_PREFIX)),
        key=lambda key: key.rsplit(".", 1)[1],
    )
    for key in keys[:-MIRROR_KEEP]:
        client.delete_model_tag(model_name, key)


def registered_schema(client: MlflowClient, model_name: str) -> tuple[str, dict[str, str]] | None:
    """The newest registered version and its feature columns' kinds, or None when nothing is
    registered: what later training data must keep. Read from its training run's tag; versions
    trained before the tag existed are read from their model's signature."""
    import mlflow.models
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{model_name}'", order_by=["version_number DESC"], max_results=1)
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise
    if not versions:
        return None
    version = versions[0]
    tags = client.get_run(version.run_id).data.tags if version.run_id else {}
    if SCHEMA_TAG in tags:
        return str(version.version), json.loads(tags[SCHEMA_TAG])
    use_fluent_api(client)
    signature = mlflow.models.get_model_info(f"models:/{model_name}/{version.version}").signature
    return None if signature is None else (str(version.version), signature_kinds(signature))
