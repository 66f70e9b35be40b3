"""Batch scoring as Dagster assets: `batch_predictions`, a partition of BATCH_INPUT scored with the
version BATCH_ALIAS names when the run begins (pinned for the whole partition), written to
BATCH_OUTPUT; `batch_model_version`, that alias's version as Dagster sees it, so a new champion makes
every scored partition stale; a sensor that scores a partition when its input file appears or
changes. Thin: the scoring runs in the model server's batch scorer (`core_assets.lib.batch`).

Built from the env's settings (the partitions are BATCH_PARTITIONS' keys, else one a day)."""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DailyPartitionsDefinition,
    DataVersion,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    ResourceParam,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    sensor,
)

from core_assets.lib.batch import BatchFailed, BatchPaths, score_partition
from core_assets.release.registry import REGISTRY_ERRORS, alias_version
from core_assets.resources import MlflowRegistry
from mlops_base.file_uris import S3Access, stamp
from mlops_base.mlflow_client import first_line
from mlops_base.settings import Settings

MODEL_VERSION = AssetKey("batch_model_version")
DATA_VERSION_TAG = "dagster/data_version"
BATCH_TAG = "mlops/batch"  # on every batch run: the run queue limits how many run at once
# the concurrency pool of the scoring step, whatever launched its run (a sensor, a backfill from
# the asset's page, `./mlops score`): the local instance holds it to BATCH_MAX_CONCURRENT
BATCH_POOL = "mlops_batch"
K8S_CONFIG_TAG = "dagster-k8s/config"
RECENT_DAYS = 7  # daily partitions whose input the sensor looks for


BATCH_PRIORITY_CLASS = "mlops-batch"  # below the model servers', never preempting (gitops/bootstrap)


def run_resources(settings: Settings) -> dict[str, Any]:
    """What a batch run's pod requests on Kubernetes and its priority (K8sRunLauncher reads the
    tag; ignored here)."""
    requests = {"cpu": settings.batch_run_cpu, "memory": settings.batch_run_memory}
    return {
        "container_config": {"resources": {"requests": requests, "limits": {"memory": settings.batch_run_memory}}},
        "pod_spec_config": {"priority_class_name": BATCH_PRIORITY_CLASS},
    }


def batch_partitions(settings: Settings) -> PartitionsDefinition:
    keys = settings.partition_keys
    if keys:
        return StaticPartitionsDefinition(keys)
    return DailyPartitionsDefinition(start_date=settings.batch_start_date.isoformat())


def build_batch(settings: Settings) -> dict[str, Any]:
    """The batch assets, job and sensor for the env's partitions (Definitions' keyword arguments)."""
    partitions = batch_partitions(settings)
    rescore = (
        (
            AutomationCondition.any_deps_updated() & ~AutomationCondition.missing() & ~AutomationCondition.in_progress()
        ).with_label("BATCH_RESCORE_ON_RELEASE: a new version re-scores the scored partitions")
        if settings.batch_rescore_on_release
        else None
    )

    @asset(
        group_name="batch",
        partitions_def=partitions,
        deps=[MODEL_VERSION],
        kinds={"python", "parquet"},
        tags={BATCH_TAG: "true"},
        pool=BATCH_POOL,
        automation_condition=rescore,
    )
    def batch_predictions(
        context: AssetExecutionContext, registry: MlflowRegistry, settings: ResourceParam[Settings]
    ) -> MaterializeResult:
        """The partition's rows scored by the version BATCH_ALIAS names as the run begins, as the model
        server answers them (its loader, checks and model); refused rows beside, with the reason."""
        return _score(context, registry, settings)

    job = define_asset_job(
        "batch_job",
        selection=[batch_predictions],
        tags={BATCH_TAG: "true", K8S_CONFIG_TAG: run_resources(settings)},
        description="Score one partition of BATCH_INPUT with the version BATCH_ALIAS names.",
    )

    @sensor(name="batch_input_sensor", job=job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
    def batch_input_sensor(
        context: SensorEvaluationContext, registry: MlflowRegistry, settings: ResourceParam[Settings]
    ):
        """Scores a partition when its input file appears or changes; reports BATCH_ALIAS's version
        (a new one makes the scored partitions stale)."""
        return _new_inputs(context, registry, settings, partitions)

    model_version = AssetSpec(
        MODEL_VERSION,
        group_name="batch",
        description="The version BATCH_ALIAS names, reported by batch_input_sensor when it changes (a runless "
        "materialization, the version its data version): a new one makes batch_predictions' partitions stale.",
    )
    sensors = [batch_input_sensor]
    if rescore is not None:  # the core's automation sensor targets the core group only
        sensors.append(
            AutomationConditionSensorDefinition(
                "batch_automation",
                target=AssetSelection.groups("batch"),
                default_status=DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=30,
                description="BATCH_RESCORE_ON_RELEASE: re-scores the scored partitions when BATCH_ALIAS moves.",
            )
        )
    return {"assets": [model_version, batch_predictions], "jobs": [job], "sensors": sensors}


def _score(context: AssetExecutionContext, registry: MlflowRegistry, settings: Settings) -> MaterializeResult:
    key = context.partition_key
    try:
        paths = BatchPaths.of(settings, key)
        with registry.rest() as client:
            version = alias_version(client, registry.model_name, settings.batch_alias)
    except BatchFailed as exc:
        raise Failure(str(exc)) from None
    except REGISTRY_ERRORS as exc:
        raise Failure(f"registry {registry.tracking_uri} unreachable: {first_line(exc)}") from None
    if version is None:
        raise Failure(f"{registry.model_name}@{settings.batch_alias} names no version: nothing to score with")
    context.log.info("scoring partition %s (%s) with v%s, pinned for the whole partition", key, paths.input, version)
    try:
        summary = score_partition(settings, version, paths)
    except BatchFailed as exc:
        raise Failure(f"partition {key}: {exc}") from None
    context.log.info(
        "partition %s: %d rows scored, %d refused, in %.1f s",
        key,
        summary["scored"],
        summary["rejected"],
        summary["seconds"],
    )
    return MaterializeResult(
        metadata={
            "version": version,
            "model": MetadataValue.url(registry.model_url(version)),
            "run_id": summary["run_id"],
            "input": MetadataValue.path(paths.input),
            "output": MetadataValue.path(paths.output),
            "output_sha256": summary["output_sha256"] or "nothing written",
            "rows": summary["rows"],
            "scored": summary["scored"],
            "rejected": summary["rejected"],
            "rejects": MetadataValue.path(paths.rejects) if summary["rejected"] else "none",
            "first_reject": summary["first_reject"] or "none",
            "seconds": round(summary["seconds"], 2),
            "rows_per_s": round(summary["rows_per_s"]),
            "predictions": MetadataValue.json(summary["predictions"]),
        },
        data_version=DataVersion(f"v{version}:{(summary['output_sha256'] or 'empty')[:16]}"),
    )


def _new_inputs(
    context: SensorEvaluationContext, registry: MlflowRegistry, settings: Settings, partitions: PartitionsDefinition
):
    if not settings.batch_input:  # no batch scoring in this env: not even a registry call
        return SkipReason("BATCH_INPUT is not set: nothing to score")
    try:
        with registry.rest() as client:
            version = alias_version(client, registry.model_name, settings.batch_alias)
    except REGISTRY_ERRORS as exc:
        return SkipReason(f"registry {registry.tracking_uri} unreachable ({first_line(exc)}); asking again")
    events = []
    if version is not None and version != context.cursor:
        events.append(
            AssetMaterialization(MODEL_VERSION, metadata={"version": version}, tags={DATA_VERSION_TAG: f"v{version}"})
        )
    keys = partitions.get_partition_keys()
    if isinstance(partitions, DailyPartitionsDefinition):
        keys = keys[-RECENT_DAYS:]
    requests, s3 = [], S3Access.of(settings)
    for key in keys:
        found = stamp(BatchPaths.of(settings, key).input, s3)
        if found is not None:  # one run per version of the file: a changed file is scored again
            requests.append(RunRequest(run_key=f"batch-{key}-{found}", partition_key=key))
    return SensorResult(run_requests=requests, asset_events=events, cursor=version or context.cursor)
