"""The synthetic probe as Dagster runs it: a check on `served_alias` that sends each served
version's recorded row through every protocol to every replica (`core_assets.lib.probe`), run by a
schedule every SYNTHETIC_PROBE_MINUTES (built only when it is set: on in prod). A wrong answer, an
error or a request over SYNTHETIC_PROBE_BUDGET_MS fails the check and emits `probe_failed`."""

from typing import Any

import httpx
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetSelection,
    DefaultScheduleStatus,
    ResourceParam,
    ScheduleDefinition,
    asset_check,
    define_asset_job,
)

from core_assets.lib.events import emit_lifecycle_event
from core_assets.lib.probe import Expected, Probed, probe_replica
from core_assets.release.registry import REGISTRY_ERRORS
from core_assets.resources import MlflowRegistry, ModelServer
from layer_api.manager import LayerManager
from mlops_base.aliases import ALIASES
from mlops_base.model_card import PROBE_TAG
from mlops_base.settings import Settings
from serving_client import ServingError, replica_urls

PROBE_TIMEOUT_S = 10.0


@asset_check(
    asset="served_alias",
    name="synthetic_probe",
    description="each served version's recorded row, through every protocol to every replica: the "
    "answer recorded when it was trained, within SYNTHETIC_PROBE_BUDGET_MS",
)
def synthetic_probe(
    context: AssetCheckExecutionContext,
    registry: MlflowRegistry,
    model_server: ModelServer,
    settings: ResourceParam[Settings],
    layers: ResourceParam[LayerManager],
) -> AssetCheckResult:
    try:
        served, unrecorded = _served(registry)
    except REGISTRY_ERRORS as exc:
        return _failed(layers, context, [f"the registry cannot be read: {type(exc).__name__}"], [])
    try:
        urls = replica_urls(model_server.url, model_server.replica_urls, model_server.replicas_dns)
    except ServingError as exc:  # the replicas' DNS name resolves to none
        return _failed(layers, context, [str(exc)], [])
    headers = {"authorization": f"Bearer {settings.predict_token}"} if settings.predict_token else {}
    probed: list[Probed] = []
    with httpx.Client(timeout=PROBE_TIMEOUT_S, headers=headers) as client:
        for url in urls:
            probed += probe_replica(client, url, registry.model_name, served, settings.synthetic_probe_budget_ms)
    problems = [f"{p.replica} {p.protocol} ({p.alias}): {p.problem}" for p in probed if p.problem]
    if not urls:
        problems.append("no model-server replica to probe")
    if problems:
        return _failed(layers, context, problems, probed)
    slowest = max((p.ms for p in probed), default=0.0)
    note = f"; not recorded (trained before the probe): {', '.join(unrecorded)}" if unrecorded else ""
    return AssetCheckResult(
        passed=True,
        description=f"{len(probed)} answers as recorded from {len(urls)} replica(s), slowest {slowest:.0f} ms{note}",
        metadata=_metadata(probed),
    )


def _served(registry: MlflowRegistry) -> tuple[dict[str, Expected], list[str]]:
    """Each served alias's recorded row and answer; the versions trained without one."""
    served, unrecorded = {}, []
    with registry.rest() as client:
        for alias, version in sorted(client.aliases(registry.model_name).items()):
            if alias not in ALIASES:  # the platform serves A and B; other aliases are not served
                continue
            run = client.run(client.model_version(registry.model_name, version).run_id)
            tag = run.tags.get(PROBE_TAG)
            if tag is None:
                unrecorded.append(f"{alias}=v{version}")
            else:
                served[alias] = Expected.of(version, tag)
    return served, unrecorded


def _metadata(probed: list[Probed]) -> dict[str, Any]:
    return {"requests": len(probed), "slowest_ms": round(max((p.ms for p in probed), default=0.0), 1)}


def _failed(
    layers: LayerManager, context: AssetCheckExecutionContext, problems: list[str], probed: list[Probed]
) -> AssetCheckResult:
    why = "; ".join(problems)
    emit_lifecycle_event("probe_failed", {"why": why, "dagster_run_id": context.run.run_id}, layers, context.log)
    return AssetCheckResult(
        passed=False, severity=AssetCheckSeverity.ERROR, description=why[:2_000], metadata=_metadata(probed)
    )


def build_probe(settings: Settings) -> dict[str, list]:
    """The check, its job and its schedule (Definitions' keyword arguments); none while it is off."""
    minutes = settings.synthetic_probe_minutes
    if not minutes:
        return {"asset_checks": [], "jobs": [], "schedules": []}
    job = define_asset_job("probe_job", selection=AssetSelection.checks(synthetic_probe))
    schedule = ScheduleDefinition(
        name="synthetic_probe_schedule",
        job=job,
        cron_schedule=f"*/{minutes} * * * *",
        default_status=DefaultScheduleStatus.RUNNING,
    )
    return {"asset_checks": [synthetic_probe], "jobs": [job], "schedules": [schedule]}
