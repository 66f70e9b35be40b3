"""Where Dagster keeps what it records and computes, from the env's settings.

One place for both halves of the choice: the instance (`dagster.yaml`: runs, events, schedules,
compute logs), which the launcher writes and the Helm values mirror, and the code location's IO
manager, which `definitions` assembles. `STORAGE=local` keeps SQLite and
files under the state dir; `STORAGE=postgres-s3` puts the instance on Postgres (`dagster-postgres`)
and asset values and compute logs in S3 (`dagster-aws`).
"""

from __future__ import annotations

import os
from typing import Any

from dagster import EnvVar, FilesystemIOManager

from core_assets.logs import PYTHON_LOGS
from core_assets.release.registered_input import REGISTERED_INPUT, registered_version_input
from mlops_base.settings import Settings

# sensors' runs start at once instead of waiting for the queue daemon's next pass
_RUN_COORDINATOR = {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"}
# a dead endpoint fails the step in seconds, not after botocore's default back-off
S3_MAX_ATTEMPTS = 2


def instance_config(settings: Settings) -> dict[str, Any]:
    """The Dagster instance of this env, as `dagster.yaml` (secrets by environment variable name)."""
    config: dict[str, Any] = {
        "telemetry": {"enabled": False},
        "run_coordinator": _RUN_COORDINATOR,
        "python_logs": PYTHON_LOGS,  # the runs' log to the optional layers' handlers
        # runs start at once (above), so a backfill's runs all start: the batch step of each waits
        # for one of BATCH_MAX_CONCURRENT slots of its pool (the only pool: `core_assets.batch`)
        "concurrency": {"pools": {"default_limit": settings.batch_max_concurrent}},
    }
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
    """Asset values: S3 objects under `<bucket>/<prefix>/`; locally, the instance's default files.
    `served_alias` reads the registered version through them (`registered_version_input`)."""
    readers = {REGISTERED_INPUT: registered_version_input}
    if settings.storage != "postgres-s3":
        return {**readers, "io_manager": FilesystemIOManager()}  # Dagster's default: the instance's storage dir
    from core_assets.s3_io import S3AssetIOManager, S3Resource  # boto3 costs ~1 s of every run's start-up

    s3 = S3Resource(
        endpoint_url=settings.s3_endpoint_url or None,
        max_attempts=S3_MAX_ATTEMPTS,
        aws_access_key_id=_from_environment("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=_from_environment("AWS_SECRET_ACCESS_KEY"),
    )
    return {
        **readers,
        "io_manager": S3AssetIOManager(
            s3_resource=s3,
            s3_bucket=settings.s3_bucket,
            s3_prefix=settings.s3_prefix,
        ),
    }


def _from_environment(name: str) -> EnvVar | None:
    """The credential as an `EnvVar` (the UI shows its name, never its value); None leaves it to
    boto3's own chain (environment, shared files, the pod's role) when the variable is not set."""
    return EnvVar(name) if os.environ.get(name) else None
