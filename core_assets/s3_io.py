"""dagster-aws's S3 pickle IO manager, with failures that say which bucket and key they were about."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from dagster import Failure, InputContext, OutputContext
from dagster_aws.s3 import S3PickleIOManager, S3Resource

__all__ = ["S3AssetIOManager", "S3Resource"]


class S3AssetIOManager(S3PickleIOManager):
    """dagster-aws's S3 pickle IO manager, whose failures name the bucket and key they were about."""

    def _named(self, action: str, context: InputContext | OutputContext, exc: Exception) -> Failure:
        key = "/".join(context.asset_key.path) if context.has_asset_key else context.name
        return Failure(
            description=f"S3 bucket {self.s3_bucket!r} unreachable while {action} {self.s3_prefix}/{key}: {exc}",
            allow_retries=False,
        )

    def load_input(self, context: InputContext) -> Any:
        try:
            return super().load_input(context)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):  # absent, not unreachable
                raise FileNotFoundError(f"s3://{self.s3_bucket}/{self.s3_prefix}: no value stored yet") from exc
            raise self._named("reading", context, exc) from exc
        except BotoCoreError as exc:
            raise self._named("reading", context, exc) from exc

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        try:
            super().handle_output(context, obj)
        except (BotoCoreError, ClientError) as exc:
            raise self._named("writing", context, exc) from exc
