"""The four core assets, from data to a served alias. Thin: the logic lives in `core_assets.lib`."""

import json
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AutomationCondition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from pydantic import Field

from core_assets.feature_schema import column_schema, schema_changes
from core_assets.lib.champion import score_champion
from core_assets.lib.data import (
    DataValidationError,
    FeatureSet,
    build_features,
    load_dataset,
    read_file,
    with_labelled_traffic,
)
from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.gate import judge
from core_assets.lib.incoming import archive, processed_dir
from core_assets.lib.training import TrainingError, TrainingSpec, train_and_log, training_code_version
from core_assets.release.levers import MoveRequest, ReleaseRun
from core_assets.release.move import move_metadata, serving_check
from core_assets.release.registered_input import REGISTERED_INPUT
from core_assets.release.registry import register_version
from core_assets.release.serve import serve_alias
from core_assets.resources import MlflowRegistry, ModelServer
from layer_api.manager import LayerManager
from mlops_base.aliases import Alias
from mlops_base.model_card import CODE_VERSION_TAG, DATA_HASH_TAG, DATASET_TAG, ROWS_TAG
from mlops_base.settings import Settings


class FeaturesConfig(Config):
    """Set by the new-data sensor; empty means the env's DATASET."""

    incoming_file: str | None = None
    accept_schema_change: bool = Field(
        False, description="train on columns that differ from the newest registered version's (a new model schema)"
    )
    labelled_traffic_since: float | None = Field(
        None,
        description="add the served traffic answered since this time (epoch seconds) whose outcomes were fed "
        "back (the evaluation layer's log, its inputs kept): set by a drift retrain",
    )


@asset(group_name="core")
def features(
    context: AssetExecutionContext,
    config: FeaturesConfig,
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
    registry: MlflowRegistry,
) -> FeatureSet:
    """Validated training data, split deterministically into train and test; its columns must keep
    the schema of the newest registered version."""
    source = config.incoming_file or settings.dataset
    try:
        if config.incoming_file:
            frame = read_file(Path(config.incoming_file))
        else:
            frame = load_dataset(
                settings.dataset, settings.target_column, settings.env_dir, settings.mlflow_tracking_uri
            )
        traffic_rows = 0
        if config.labelled_traffic_since is not None:
            frame, traffic_rows = with_labelled_traffic(
                frame,
                layers.labelled_traffic(settings.model_name, config.labelled_traffic_since, settings.target_column),
            )
        # an optional layer (e.g. a feature store) may store it and provide the training frame
        provided = layers.feature_source(frame)
        feature_set = build_features(
            frame if provided is None else provided,
            settings.target_column,
            settings.test_size,
            settings.split_seed,
            settings.task,
        )
        changes = None if config.accept_schema_change else schema_changes(registry, feature_set)
    except (DataValidationError, ValueError) as exc:
        kept = ", left in place" if config.incoming_file else ""
        raise Failure(description=f"dataset {source} rejected{kept}: {exc}") from exc
    if changes:
        kept = ", left in place" if config.incoming_file else ""
        raise Failure(
            description=f"dataset {source} rejected{kept}: {changes} (a new schema: launch with "
            "accept_schema_change, or register under another MODEL_NAME)"
        )
    if config.incoming_file:
        # fully validated and split in memory: only now does the file leave the incoming folder
        archived = archive(Path(config.incoming_file), processed_dir(settings.state_dir))
        context.log.info("ingested %s, archived as %s", config.incoming_file, archived)
    context.add_output_metadata(
        {
            "dagster/column_schema": column_schema(feature_set, settings.target_column),
            "dagster/row_count": feature_set.row_count,
            "dataset": str(source),
            "train_rows": len(feature_set.x_train),
            "test_rows": len(feature_set.x_test),
            "feature_names": feature_set.feature_names,
            "data_hash": feature_set.data_hash,
            "split_seed": settings.split_seed,
            **({"labelled_traffic_rows": traffic_rows} if config.labelled_traffic_since is not None else {}),
        }
    )
    return feature_set


@asset(
    group_name="core",
    # its code version (training code + parameters) is set where the Definitions are assembled;
    # retrain when features update, or when the training code or parameters change
    automation_condition=AutomationCondition.eager()
    | (
        AutomationCondition.code_version_changed()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.in_progress()
    ),
)
def trained_model(
    context: AssetExecutionContext, features: FeatureSet, settings: ResourceParam[Settings], registry: MlflowRegistry
) -> dict[str, Any]:
    """The env's model (ESTIMATOR or the team's TRAINER) fitted on `features`, logged as an MLflow
    run; with GATE_MAX_REGRESSION, the champion scored on the same test split."""
    client = registry.client()
    spec = TrainingSpec.of(settings)
    try:
        result = train_and_log(
            features,
            spec,
            registry.experiment,
            tags={
                "mlops.env": settings.mlops_env,
                DATA_HASH_TAG: features.data_hash,
                DATASET_TAG: settings.dataset,
                ROWS_TAG: json.dumps({"train": len(features.x_train), "test": len(features.x_test)}),
                CODE_VERSION_TAG: training_code_version(spec),
            },
            tracking_uri=registry.tracking_uri,
        )
    except TrainingError as exc:
        raise Failure(description=f"training failed, nothing registered: {exc}") from exc
    champion = None
    if settings.gate_max_regression is not None:
        champion = score_champion(client, registry.model_name, features, settings.task).as_dict()
    context.add_output_metadata(
        {
            **result.metrics,
            "model": spec.name,
            "flavour": result.flavour,
            "run_id": result.run_id,
            "mlflow_run": MetadataValue.url(registry.run_url(result.experiment_id, result.run_id)),
            "test_split": MetadataValue.md(result.report),
            "reference_profile": MetadataValue.md(result.reference),
            "global_importance": MetadataValue.md(result.importance),
            **({"champion": MetadataValue.json(champion)} if champion else {}),
        }
    )
    return {**result.as_dict(), "champion": champion}


# an upstream asset is requested in this tick, so this one joins the same run
DEP_REQUESTED_THIS_TICK = AutomationCondition.any_deps_match(AutomationCondition.will_be_requested())


@asset(
    group_name="core",
    # register what was retrained, but only past the blocking quality gate: checked in the same run
    # (retrained in this tick: the run skips this step if the gate fails), or checked already.
    # Retrained this tick wins on its own: eager() is false for a tick that also sees this asset's
    # previous materialization, and a commit right after a release then took a second run
    automation_condition=DEP_REQUESTED_THIS_TICK.with_label("retrained in this run")
    | (AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()),
)
def registered_model_version(
    context: AssetExecutionContext,
    trained_model: dict[str, Any],
    registry: MlflowRegistry,
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
) -> dict[str, str]:
    """The gated model registered as a new version in the MLflow registry."""
    version = register_version(
        registry.client(), registry.model_name, trained_model["model_uri"], trained_model["run_id"]
    )
    record = {
        "model_name": registry.model_name,
        "version": str(version.version),
        "run_id": trained_model["run_id"],
        "source": version.source,
        "status": version.status,
    }
    # the gate's result (it passed: the blocking check ran before) and the run, for the layers' messages
    gate = "; ".join(judge(trained_model, settings)[1])
    emit_lifecycle_event(
        "version_registered", {**record, "gate": gate, "dagster_run_id": context.run.run_id}, layers, context.log
    )
    context.add_output_metadata({**record, "registry": MetadataValue.url(registry.model_url(record["version"]))})
    return record


class ServedAliasConfig(Config):
    """Which alias to move where. Empty: the env's TARGET_ALIAS to the newest registered version.

    The run's job decides the lever: deploy_job releases, rollback_job rolls back (a version or
    `remove` required), promote_job gives the champion the challenger's version.
    """

    alias: Alias | None = Field(None, description="A or B; default: TARGET_ALIAS (promote: A)")
    version: str | None = Field(None, description="a READY version; default: the newest the graph registered")
    remove: bool = Field(False, description="remove the alias instead of moving it (rollback to no version)")
    reason: str = ""
    expect: dict[str, str] = Field(
        default_factory=dict,
        description="versions the aliases must point to when the run starts, e.g. {'A': '3', 'B': '5'} "
        "(those a decision judged); otherwise nothing moves",
    )

    def request(self) -> MoveRequest:
        return MoveRequest(self.alias, self.version, self.remove, self.reason, self.expect)


SERVING_CHECK = AssetCheckSpec(
    "serving_matches_alias",
    asset="served_alias",
    blocking=True,
    description="every model-server replica serves the version the alias was moved to",
)


@asset(
    group_name="core",
    ins={"registered_model_version": AssetIn(input_manager_key=REGISTERED_INPUT)},
    check_specs=[SERVING_CHECK],
    # released by the run that registers the version (no sensor tick, no second run); versions
    # registered by other runs are released by the readiness sensor
    automation_condition=DEP_REQUESTED_THIS_TICK.with_label("registered in this run"),
)
def served_alias(
    context: AssetExecutionContext,
    config: ServedAliasConfig,
    registered_model_version: dict[str, Any] | None,
    registry: MlflowRegistry,
    model_server: ModelServer,
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
) -> MaterializeResult:
    """The registry alias moved (release, rollback or promote), and the model server hot-swapped to it.

    Every move is recorded here, a failed hot-swap included; the blocking check then fails the run
    so that the rollback sensor restores the version served before.
    """
    run = ReleaseRun.of(context.run, registered_model_version)
    deployment = serve_alias(config.request(), run, registry, model_server, settings, layers, context.log)
    return MaterializeResult(
        metadata=move_metadata(deployment.move, registry.model_url(deployment.move.after_version)),
        check_results=[serving_check(SERVING_CHECK.name, deployment)],
    )
