"""Closed prediction-log files copied to the env's artifact store (S3) with `STORAGE=postgres-s3`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from mlops_base.settings import Settings

_log = logging.getLogger("mlops.evaluation")
PREFIX = "prediction-log"


def archiver(settings: Settings) -> Callable[[Path], None]:
    """What to do with a closed log file: in prod envs, upload it to s3://S3_BUCKET/prediction-log/<env>/
    and remove it here once S3 holds all of it; elsewhere keep it (the retention removes it)."""
    if settings.storage != "postgres-s3":
        return lambda _path: None
    import boto3  # only prod envs pay for it

    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        aws_access_key_id=settings.aws_access_key_id or None,
        aws_secret_access_key=settings.aws_secret_access_key or None,
    )

    def upload(path: Path) -> None:
        key = f"{PREFIX}/{settings.mlops_env}/{path.name}"
        try:
            client.upload_file(str(path), settings.s3_bucket, key)
            stored = client.head_object(Bucket=settings.s3_bucket, Key=key)["ContentLength"]
        except Exception as exc:  # kept on disk (the retention removes it in the end)
            _log.warning("prediction log %s not copied to s3://%s/%s: %s", path.name, settings.s3_bucket, key, exc)
            return
        if stored == path.stat().st_size:  # verified: the copy is whole, the local file goes
            path.unlink()
        else:
            _log.warning("prediction log %s: s3 holds %d of its %d bytes; kept", path.name, stored, path.stat().st_size)

    return upload
