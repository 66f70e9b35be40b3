"""Jobs: train (features -> registered version), deploy (served alias), and the manual rollback."""

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

from core_assets.assets import (
    features,
    registered_model_version,
    served_alias,
    trained_model,
)
from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.registry import RegistryError
from core_assets.lib.release import DeployError, move_metadata, release
from core_assets.resources import MlflowRegistry, ModelServer

train_job = define_asset_job(
    "train_job",
    selection=AssetSelection.assets(features, trained_model, registered_model_version),
    description="Build features, train, gate and register a new model version.",
)

deploy_job = define_asset_job(
    "deploy_job",
    selection=AssetSelection.assets(served_alias),
    description="Move the target alias to the newest registered version and hot-swap the server.",
)


class RollbackConfig(Config):
    alias: str
    version: str
    reason: str


@op(description="Point an alias back at an existing READY version, recording the move.")
def rollback_alias(
    context: OpExecutionContext, config: RollbackConfig, registry: MlflowRegistry, model_server: ModelServer
) -> None:
    try:
        move = release(
            registry.client(), model_server.client(), context.log,
            model_name=registry.model_name, alias=config.alias, version=config.version,
            reason=config.reason, run_id=context.run_id,
        )
    except RegistryError as exc:
        raise Failure(description=f"rollback refused, alias {config.alias} unchanged: {exc}") from exc
    except DeployError as exc:
        move = exc.move
        context.log_event(AssetMaterialization("served_alias", metadata=move_metadata(move, registry.model_url())))
        raise Failure(description=f"alias moved back but {exc}") from exc
    # the rollback is a served_alias materialization, so the alias history has one place
    context.log_event(AssetMaterialization("served_alias", metadata=move_metadata(move, registry.model_url())))
    emit_lifecycle_event("rolled_back", move.as_dict(), context.log)


@job(description="Manual lever: move an alias back to a given version (config: alias, version, reason).")
def rollback_job():
    rollback_alias()
