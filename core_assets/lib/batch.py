"""One partition's batch scoring, run as the model server's batch scorer (`python -m serving.batch`)
in a process of its own: the code location never imports the model server, and the scorer loads
and checks exactly as the server does. The registry, model and env reach it through its
environment (never its arguments); its summary comes back as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_base.settings import Settings

REJECTS_SUFFIX = ".rejects.parquet"


class BatchFailed(RuntimeError):
    """Nothing was scored: the reason in one line (the scorer's)."""


@dataclass(frozen=True)
class BatchPaths:
    input: str
    output: str
    rejects: str

    @classmethod
    def of(cls, settings: Settings, key: str, output: str | None = None) -> BatchPaths:
        """The partition's files as the env names them (`output` given: that file instead)."""
        if not settings.batch_input:
            raise BatchFailed("BATCH_INPUT is not set: the env names no file to score")
        into = output or settings.batch_uri(settings.batch_output, key, settings.state_dir)
        return cls(settings.batch_uri(settings.batch_input, key, settings.env_dir), into, rejects_of(into))


def rejects_of(output: str) -> str:
    """Where the refused rows of `output` go: beside it."""
    stem = output[: -len(".parquet")] if output.endswith(".parquet") else output
    return stem + REJECTS_SUFFIX


def scorer_env(settings: Settings) -> dict[str, str]:
    """The scorer's environment: this process's, with the settings it was handed (a test's or an
    override's) where the scorer would read them."""
    env = dict(os.environ)
    env.update(
        MLOPS_ENV=settings.mlops_env,
        MLFLOW_TRACKING_URI=settings.mlflow_tracking_uri,
        MODEL_NAME=settings.model_name,
        MLOPS_STATE_DIR=str(settings.state_dir),
        MLOPS_ENV_DIR=str(settings.env_dir),
    )
    if settings.s3_endpoint_url:  # the scorer's settings: where s3:// URIs go (`S3Access`)
        env["S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    if settings.aws_access_key_id:  # by environment, never on the command line
        env.update(AWS_ACCESS_KEY_ID=settings.aws_access_key_id, AWS_SECRET_ACCESS_KEY=settings.aws_secret_access_key)
    return env


def score_partition(settings: Settings, version: str, paths: BatchPaths) -> dict[str, Any]:
    """Score `paths.input` with `version`; the scorer's summary. BatchFailed when nothing was scored."""
    with tempfile.TemporaryDirectory(prefix="mlops-batch-") as tmp:
        summary = Path(tmp) / "summary.json"
        command = [
            sys.executable, "-m", "serving.batch",
            "--version", version,
            "--input", paths.input,
            "--output", paths.output,
            "--rejects", paths.rejects,
            "--chunk-rows", str(settings.batch_chunk_rows),
            "--workers", str(settings.batch_workers),
            "--summary", str(summary),
            *(["--id-column", settings.batch_id_column] if settings.batch_id_column else []),
        ]  # fmt: skip
        done = subprocess.run(command, env=scorer_env(settings), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            reason = lines[-1] if lines else f"the scorer exited with status {done.returncode}"
            raise BatchFailed(reason)
        return json.loads(summary.read_text())
