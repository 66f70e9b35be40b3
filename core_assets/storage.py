"""Where Dagster keeps what it records and computes, and where runs execute, from the env's settings.

One place for both halves of the choice: the instance (`dagster.yaml`: runs, events, schedules,
compute logs), which the launcher writes and the Helm values mirror, and the code location's IO
manager and per-job executors, which `definitions` assembles. `STORAGE=local` keeps SQLite and
files under the state dir; `STORAGE=postgres-s3` puts the instance on Postgres (`dagster-postgres`)
and asset values and compute logs in S3 (`dagster-aws`).
"""

from __future__ import annotations

import warnings
from typing import Any

from dagster import BetaWarning, SensorDefinition
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster_shared.record import copy  # a job is an immutable record: copied with another executor

from core_assets.logs import PYTHON_LOGS
from core_assets.resources import secret
from mlops_base.settings import Settings, SettingsError

# sensors' runs start at once instead of waiting for the queue daemon's next pass
_RUN_COORDINATOR = {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"}
# a dead endpoint fails the step in seconds, not after botocore's default back-off
S3_MAX_ATTEMPTS = 2


def instance_config(settings: Settings) -> dict[str, Any]:
    """The Dagster instance of this env, as `dagster.yaml` (secrets by environment variable name)."""
    config: dict[str, Any] = {
        "telemetry": {"enabled": False},
        "run_coordinator": _RUN_COORDINATOR,
        "python_logs": PYTHON_LOGS,
    }  # the runs' log to the optional layers' handlers
    if settings.storage == "postgres-s3":
        config["storage"] = {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
        bucket: dict[str, Any] = {"bucket": settings.s3_bucket, "prefix": compute_logs_prefix(settings)}
        if settings.s3_endpoint_url:
            bucket["endpoint_url"] = settings.s3_endpoint_url
        config["compute_logs"] = {
            "module": "dagster_aws.s3.compute_log_manager",
            "class": "S3ComputeLogManager",
            "config": bucket,
        }
    return config


def compute_logs_prefix(settings: Settings) -> str:
    return f"{settings.s3_prefix}/compute-logs"


def io_managers(settings: Settings) -> dict[str, Any]:
    """Asset values: S3 objects under `<bucket>/<prefix>/`; locally, the instance's default files."""
    if settings.storage != "postgres-s3":
        return {}
    from core_assets.s3_io import S3AssetIOManager, S3Resource  # boto3 costs ~1 s of every run's start-up

    s3 = S3Resource(
        endpoint_url=settings.s3_endpoint_url or None,
        max_attempts=S3_MAX_ATTEMPTS,
        aws_access_key_id=secret(settings, "aws_access_key_id"),
        aws_secret_access_key=secret(settings, "aws_secret_access_key"),
    )
    return {
        "io_manager": S3AssetIOManager(
            s3_resource=s3,
            s3_bucket=settings.s3_bucket,
            s3_prefix=settings.s3_prefix,
        )
    }


def with_executors(jobs: list[UnresolvedAssetJobDefinition], settings: Settings) -> list[UnresolvedAssetJobDefinition]:
    """The jobs named in `K8S_EXECUTOR_JOBS` run each step in its own pod; the others keep the default."""
    chosen = {name.strip() for name in settings.k8s_executor_jobs.split(",") if name.strip()}
    unknown = chosen - {job.name for job in jobs}
    if unknown:
        raise SettingsError(
            f"K8S_EXECUTOR_JOBS names unknown job(s) {', '.join(sorted(unknown))}; jobs: "
            + ", ".join(job.name for job in jobs)
        )
    if not chosen:
        return jobs
    from dagster_k8s import k8s_job_executor  # the Kubernetes client costs ~1 s of every run's start-up

    return [copy(job, executor_def=k8s_job_executor) if job.name in chosen else job for job in jobs]


def retargeted(sensors: list[SensorDefinition], jobs: list[UnresolvedAssetJobDefinition]) -> list[SensorDefinition]:
    """Sensors pointed at the jobs as `with_executors` built them (a job name has one definition)."""
    by_name = {job.name: job for job in jobs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)  # Dagster's own copy passes a beta parameter
        return [
            sensor.with_updated_jobs([by_name.get(job.name, job) for job in sensor.jobs]) if sensor.has_jobs else sensor
            for sensor in sensors
        ]
