"""Jobs: train (features -> registered version), deploy (served alias), and the manual levers."""

from dagster import (
    AssetMaterialization,
    AssetSelection,
    Config,
    Failure,
    OpExecutionContext,
    define_asset_job,
    job,
    op,
)
from pydantic import Field

from core_assets.assets import (
    alias_move_metadata,
    features,
    registered_model_version,
    release_step,
    served_alias,
    trained_model,
)
from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.registry import AliasMove, alias_version
from core_assets.resources import MlflowRegistry, ModelServer

train_job = define_asset_job(
    "train_job",
    selection=AssetSelection.assets(features, trained_model, registered_model_version),
    description="Build features, train, gate and register a new model version.",
)

deploy_job = define_asset_job(
    "deploy_job",
    selection=AssetSelection.assets(served_alias),
    description="Move the target alias to a registered version and hot-swap the server.",
)


def _move_and_record(
    context: OpExecutionContext, registry: MlflowRegistry, model_server: ModelServer,
    alias: str, version: str | None, reason: str,
) -> AliasMove:
    """A manual alias move, recorded as a served_alias materialization like any release."""
    move = release_step(context, registry, model_server, alias, version, reason)
    context.log_event(AssetMaterialization("served_alias", metadata=alias_move_metadata(move, registry)))
    return move


class RollbackConfig(Config):
    alias: str
    version: str | None = Field(None, description="the version to restore; empty removes the alias")
    reason: str


@op(description="Point an alias back at an existing READY version (or remove it), recording the move.")
def rollback_alias(
    context: OpExecutionContext, config: RollbackConfig, registry: MlflowRegistry, model_server: ModelServer
) -> None:
    move = _move_and_record(context, registry, model_server, config.alias, config.version, config.reason)
    emit_lifecycle_event("rolled_back", move.as_dict(), context.log)


@job(description="Manual lever: move an alias back to a given version (config: alias, version, reason).")
def rollback_job():
    rollback_alias()


@op(description="The champion (A) takes the challenger's (B) version.")
def promote_challenger(context: OpExecutionContext, registry: MlflowRegistry, model_server: ModelServer) -> None:
    version = alias_version(registry.client(), registry.model_name, "B")
    if version is None:
        raise Failure(description="no challenger: alias B is not set, nothing to promote")
    move = _move_and_record(context, registry, model_server, "A", version, f"promote challenger v{version} to champion")
    emit_lifecycle_event("served", move.as_dict(), context.log)


@job(description="Manual lever: promote the challenger (B) to champion (A).")
def promote_job():
    promote_challenger()
