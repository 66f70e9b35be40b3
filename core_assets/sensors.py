"""Sensors that release models by themselves: deploy when READY, roll back when a deploy fails,
retrain on new data; plus the automation sensor for declarative retraining. Thin: decisions
live in `core_assets.release` and `core_assets.lib`. Built around the jobs the code location built."""

from dagster import (
    AssetKey,
    AssetObservation,
    AssetSelection,
    AssetSpec,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    ResourceParam,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from core_assets.api import PROMOTE_JOB, ROLLBACK_JOB
from core_assets.jobs import Jobs
from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.incoming import incoming_dir, settled_files
from core_assets.release.history import REGISTERED_VERSION, TRIGGER_TAG, alias_moves, served_by_its_own_run
from core_assets.release.levers import promote_run_config, rollback_run_config
from core_assets.release.ramp_control import ramp_metadata, ramp_tick
from core_assets.release.readiness import ReadinessCursor, decide
from core_assets.release.registry import REGISTRY_ERRORS
from core_assets.resources import MlflowRegistry
from layer_api.manager import LayerManager
from mlops_base.aliases import CHALLENGER, CHAMPION
from mlops_base.mlflow_client import first_line
from mlops_base.settings import Settings

RUNNING = DefaultSensorStatus.RUNNING
# Below the daemons' own 5-s loop, so every loop evaluates: at 5, a loop that came round a hair
# under 5 s after the last tick skipped it, and a commit or a failed deploy waited 10 s, not 5
INTERVAL_S = 1
# every loop of the daemon (5 s): a tick is two Prometheus queries and a registry write or two
RAMP_INTERVAL_S = INTERVAL_S


def readiness(
    context: SensorEvaluationContext,
    registry: MlflowRegistry,
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
):
    """Deploy each version registered by a run that does not release it, once MLflow reports it READY."""
    cursor = ReadinessCursor.parse(context.cursor)
    fetched = context.instance.fetch_materializations(
        REGISTERED_VERSION, limit=100, ascending=True, cursor=cursor.events_cursor
    )
    new_versions, released_by_own_run = [], []
    for record in fetched.records:
        version = str(record.asset_materialization.metadata["version"].value)
        own = served_by_its_own_run(context.instance, record.run_id)
        (released_by_own_run if own else new_versions).append(version)
    if fetched.records:
        cursor.events_cursor = fetched.cursor
    if not new_versions and not cursor.pending:
        reason = "no newly registered version"
        if released_by_own_run:
            reason = f"{', '.join('v' + v for v in released_by_own_run)} released by the run that registered it"
        return SensorResult(skip_reason=SkipReason(reason), cursor=cursor.dump())

    try:
        with registry.rest() as client:
            decision = decide(cursor, new_versions, lambda v: client.model_version(registry.model_name, v).status)
    except REGISTRY_ERRORS as exc:  # down or slower than the client's bounded timeout: next tick asks again
        cursor.pending = sorted(set(cursor.pending + new_versions), key=int)
        waiting = ", ".join(f"v{v}" for v in cursor.pending)
        reason = f"registry {registry.tracking_uri} unreachable ({first_line(exc)}); {waiting} kept for the next tick"
        return SensorResult(skip_reason=SkipReason(reason), cursor=cursor.dump())
    for version in decision.failed:
        emit_lifecycle_event(
            "readiness_failed",
            {"model_name": registry.model_name, "version": version},
            layers,
            context.log,
        )
    requests = [
        RunRequest(
            run_key=f"deploy-{registry.model_name}-v{version}",
            run_config={"ops": {"served_alias": {"config": {"version": version, "reason": f"v{version} is READY"}}}},
            tags={"mlops/version": version},
        )
        for version in decision.deploy
    ]
    if requests:
        return SensorResult(run_requests=requests, cursor=decision.cursor.dump())
    waiting = ", ".join(f"v{v} is {s}" for v, s in decision.waiting.items())
    gave_up = ", ".join(f"v{v} FAILED_REGISTRATION (alert raised)" for v in decision.failed)
    reason = "; ".join(filter(None, [waiting and f"waiting: {waiting}", gave_up])) or "nothing new to deploy"
    return SensorResult(skip_reason=SkipReason(reason), cursor=decision.cursor.dump())


def rollback(context: RunFailureSensorContext):
    """When a run that moved an alias fails (its hot-swap or serving check), restore the alias's
    before_version."""
    run = context.dagster_run
    moves = alias_moves(context.instance, run_id=run.run_id)
    if not moves:
        return SkipReason(f"run {run.run_id[:8]} failed before moving any alias; nothing to roll back")
    move = moves[0]
    if move.lever == "rollback":
        return SkipReason(f"run {run.run_id[:8]} is itself a rollback; not rolling it back (alerted)")
    return RunRequest(
        run_key=f"rollback-{run.run_id}",
        run_config=rollback_run_config(move.alias, move.before_version, f"deploy of v{move.after_version} failed"),
        tags={"mlops/failed_run": run.run_id},
    )


def new_data(settings: ResourceParam[Settings]):
    """Retrain on each dataset file (CSV or Parquet) dropped into the env's incoming folder."""
    folder = incoming_dir(settings.state_dir)
    files = settled_files(folder)
    if not files:
        return SkipReason(f"no settled dataset file in {folder}")
    return [
        RunRequest(
            run_key=f"incoming-{file.key}",  # one run per exact drop, even while a failed file stays
            run_config={"ops": {"features": {"config": {"incoming_file": str(file.path)}}}},
            tags={"mlops/incoming_file": file.path.name},
        )
        for file in files
    ]


RAMP_ASSET = AssetKey("ramp")
# observed by the ramp sensor, never materialized: its page shows each decision with its evidence
RAMP_SPEC = AssetSpec(
    RAMP_ASSET,
    group_name="release",
    description="ALIAS_SELECTION_MODE=ramp: the challenger's share, the guardrails' intervals and each decision",
)
RAMP_TRIGGER = "ramp"


def ramp(
    context: SensorEvaluationContext,
    registry: MlflowRegistry,
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
):
    """ALIAS_SELECTION_MODE=ramp: B's share steps up while the guardrails show it not worse; B is
    promoted after the last step, rolled back as soon as one shows it worse (`core_assets.release.ramp`)."""
    if settings.alias_selection_mode != "ramp":
        return SkipReason(f"ALIAS_SELECTION_MODE is {settings.alias_selection_mode}, not ramp")
    try:
        with registry.rest() as client:
            tick = ramp_tick(client, settings, layers)
    except REGISTRY_ERRORS as exc:
        return SkipReason(f"registry {registry.tracking_uri} unreachable ({first_line(exc)}); asking again")
    context.log.info(tick.note)
    decision, state = tick.decision, tick.state
    if decision is None or state is None:
        return SkipReason(tick.note)
    observed = AssetObservation(RAMP_ASSET, metadata=ramp_metadata(decision, state, settings.ramp_step_list))
    expect = {str(CHAMPION): state.champion, str(CHALLENGER): state.challenger}
    key = f"ramp-{decision.action}-A{state.champion}-B{state.challenger}"
    if decision.action == "promote":
        run = RunRequest(
            run_key=key,
            job_name=PROMOTE_JOB,
            run_config=promote_run_config(decision.reason, expect),
            tags={TRIGGER_TAG: RAMP_TRIGGER},
        )
        return SensorResult(run_requests=[run], asset_events=[observed])
    if decision.action == "abort":
        moves = [m for m in alias_moves(context.instance, alias=CHALLENGER) if m.after_version == state.challenger]
        previous = moves[0].before_version if moves else None  # none recorded: B is removed
        run = RunRequest(
            run_key=key,
            job_name=ROLLBACK_JOB,
            run_config=rollback_run_config(CHALLENGER, previous, decision.reason, expect),
            tags={TRIGGER_TAG: RAMP_TRIGGER},
        )
        return SensorResult(run_requests=[run], asset_events=[observed])
    return SensorResult(skip_reason=SkipReason(decision.reason), asset_events=[observed])


def build_sensors(jobs: Jobs) -> list[SensorDefinition]:
    """The sensors, targeting the jobs as the code location built them."""
    return [
        sensor(name="readiness_sensor", job=jobs.deploy, minimum_interval_seconds=INTERVAL_S, default_status=RUNNING)(
            readiness
        ),
        run_failure_sensor(
            name="rollback_sensor",
            request_job=jobs.rollback,
            minimum_interval_seconds=INTERVAL_S,
            default_status=RUNNING,
        )(rollback),
        sensor(name="new_data_sensor", job=jobs.train, minimum_interval_seconds=INTERVAL_S, default_status=RUNNING)(
            new_data
        ),
        sensor(
            name="ramp_sensor",
            jobs=[jobs.promote, jobs.rollback],
            minimum_interval_seconds=RAMP_INTERVAL_S,
            default_status=RUNNING,
        )(ramp),
        automation_sensor,
    ]


automation_sensor = AutomationConditionSensorDefinition(
    "core_automation",
    target=AssetSelection.groups("core"),
    default_status=RUNNING,
    minimum_interval_seconds=INTERVAL_S,
    description="Retrains when features update or the training code/parameters change.",
)
