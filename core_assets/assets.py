"""The four core assets, from data to a served alias. Thin: the logic lives in `core_assets.lib`."""

from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    asset,
)

from core_assets.env import training_code_version
from core_assets.lib.data import (
    DataValidationError,
    FeatureSet,
    build_features,
    load_dataset,
)
from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.incoming import archive, processed_dir
from core_assets.lib.registry import AliasMove, RegistryError, register_version
from core_assets.lib.release import DeployError, move_metadata, release
from core_assets.lib.training import train_and_log
from core_assets.resources import MlflowRegistry, ModelServer, PipelineSettings
from mlops_platform.settings import dataset_path, load_settings
from optional_layers.manager import get_manager


class FeaturesConfig(Config):
    """Set by the new-data sensor; empty means the env's DATASET."""

    incoming_file: str | None = None


@asset(group_name="core")
def features(context: AssetExecutionContext, config: FeaturesConfig, pipeline: PipelineSettings) -> FeatureSet:
    """Validated training data, split deterministically into train and test."""
    source = Path(config.incoming_file) if config.incoming_file else dataset_path(pipeline.dataset)
    # an optional layer (e.g. a feature store) may provide the dataset instead of the env's DATASET
    layer_frame = None if config.incoming_file else get_manager(pipeline.env).feature_source(load_settings(pipeline.env))
    try:
        frame = layer_frame if layer_frame is not None else load_dataset(source, pipeline.target_column)
        feature_set = build_features(frame, pipeline.target_column, pipeline.test_size, pipeline.split_seed)
    except DataValidationError as exc:
        kept = ", left in place" if config.incoming_file else ""
        raise Failure(description=f"dataset {source or pipeline.dataset} rejected{kept}: {exc}") from exc
    if config.incoming_file:
        # fully validated and split in memory: only now does the file leave the incoming folder
        archived = archive(Path(config.incoming_file), processed_dir(Path(pipeline.state_dir)))
        context.log.info("ingested %s, archived as %s", config.incoming_file, archived)
    context.add_output_metadata(
        {
            "dataset": str(config.incoming_file or pipeline.dataset),
            "train_rows": len(feature_set.x_train),
            "test_rows": len(feature_set.x_test),
            "feature_names": feature_set.feature_names,
            "data_hash": feature_set.data_hash,
            "split_seed": pipeline.split_seed,
        }
    )
    return feature_set


@asset(
    group_name="core",
    code_version=training_code_version(),
    # retrain when features update, or when the training code or parameters change
    automation_condition=AutomationCondition.eager()
    | (
        AutomationCondition.code_version_changed()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.in_progress()
    ),
)
def trained_model(
    context: AssetExecutionContext, features: FeatureSet, pipeline: PipelineSettings, registry: MlflowRegistry
) -> dict[str, Any]:
    """The env's scikit-learn estimator fitted on `features`, logged as an MLflow run."""
    registry.client()
    result = train_and_log(
        features,
        pipeline.estimator,
        pipeline.estimator_params,
        registry.experiment,
        tags={"mlops.env": pipeline.env, "mlops.data_hash": features.data_hash},
    )
    context.add_output_metadata(
        {
            "accuracy": result.accuracy,
            "f1_macro": result.f1_macro,
            "estimator": pipeline.estimator,
            "run_id": result.run_id,
            "mlflow_run": MetadataValue.url(registry.run_url(result.experiment_id, result.run_id)),
        }
    )
    return result.as_dict()


@asset(
    group_name="core",
    # register what was retrained, but only past the blocking quality gate
    automation_condition=AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed(),
)
def registered_model_version(
    context: AssetExecutionContext, trained_model: dict[str, Any], registry: MlflowRegistry
) -> dict[str, str]:
    """The gated model registered as a new version in the MLflow registry."""
    version = register_version(registry.client(), registry.model_name, trained_model["model_uri"], trained_model["run_id"])
    record = {
        "model_name": registry.model_name,
        "version": str(version.version),
        "run_id": trained_model["run_id"],
        "source": version.source,
        "status": version.status,
    }
    emit_lifecycle_event("version_registered", record, context.log)
    context.add_output_metadata({**record, "registry": MetadataValue.url(registry.model_url(record["version"]))})
    return record


class ServedAliasConfig(Config):
    """Leave empty to serve the version `registered_model_version` produced on the env's target alias."""

    version: str | None = None
    alias: str | None = None
    reason: str = ""


def release_step(
    context: OpExecutionContext, registry: MlflowRegistry, model_server: ModelServer,
    alias: str, version: str | None, reason: str,
) -> AliasMove:
    """Move an alias and hot-swap the server, for served_alias and the manual levers alike.

    A refused move fails the run with the alias unchanged; a move whose hot-swap fails fails the
    run with the move as the failure's metadata (the alias did move; MLflow's history has it too).
    """
    try:
        return release(
            registry.client(), model_server.client(), context.log,
            model_name=registry.model_name, alias=alias, version=version, reason=reason, run_id=context.run_id,
        )
    except RegistryError as exc:
        raise Failure(description=f"refused, alias {alias} unchanged: {exc}") from exc
    except DeployError as exc:
        raise Failure(
            description=f"alias {alias} moved, but {exc}", metadata=alias_move_metadata(exc.move, registry)
        ) from exc


def alias_move_metadata(move: AliasMove, registry: MlflowRegistry) -> dict[str, Any]:
    return move_metadata(move, registry.model_url(move.after_version))


@asset(group_name="core")
def served_alias(
    context: AssetExecutionContext,
    config: ServedAliasConfig,
    registered_model_version: dict[str, str],
    registry: MlflowRegistry,
    model_server: ModelServer,
    pipeline: PipelineSettings,
) -> dict[str, Any]:
    """The registry alias moved to the new version, and the model server hot-swapped to it."""
    alias = config.alias or pipeline.target_alias
    version = config.version or registered_model_version["version"]
    reason = config.reason or f"release of v{version} (run {context.run_id[:8]})"
    move = release_step(context, registry, model_server, alias, version, reason)
    emit_lifecycle_event("served", move.as_dict(), context.log)
    context.add_output_metadata(alias_move_metadata(move, registry))
    return move.as_dict()
