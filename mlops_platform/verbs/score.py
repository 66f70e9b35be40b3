"""`mlops score`: a file scored by the `batch_predictions` asset (not over HTTP), into the running
platform's instance, so the run and its partition show in the UI."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "score a CSV or Parquet file with the version BATCH_ALIAS names, as the batch_predictions asset"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a CSV or Parquet file (a path, or a file:// or s3:// URI)")
    parser.add_argument("--partition", default=None, help="the partition it is (default: the newest)")
    parser.add_argument("--out", default=None, help="the Parquet file written (default: BATCH_OUTPUT's)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    import os

    from core_assets.batch import batch_partitions
    from core_assets.lib.batch import BatchPaths
    from mlops_base.file_uris import S3Access, is_local, stamp
    from mlops_base.settings import REPO_ROOT
    from mlops_platform import run_output, runtime
    from mlops_platform.stack import BIN, dagster_env, say
    from mlops_platform.verbs.output import error, user_path

    def here(uri: str) -> str:  # a path the user typed is relative to where they are
        return uri if "://" in uri else str(user_path(uri).resolve())

    source = here(args.input)
    if is_local(source) and stamp(source, S3Access()) is None:
        return error(f"no file {args.input}")
    keys = batch_partitions(settings).get_partition_keys()
    key = args.partition or keys[-1]
    if key not in keys:
        return error(f"no partition {key!r}; the env's are {', '.join(keys[-5:])}{' ...' if len(keys) > 5 else ''}")
    output = here(args.out) if args.out else settings.batch_output
    paths = BatchPaths.of(settings.model_copy(update={"batch_input": source, "batch_output": output}), key)
    overrides = {"BATCH_INPUT": source, "BATCH_OUTPUT": paths.output}
    command = [
        str(BIN / "dagster"), "asset", "materialize", "-m", "core_assets.definitions",
        "--select", "batch_predictions", "--partition", key,
    ]  # fmt: skip
    env = {**os.environ, **dagster_env(settings), **overrides}
    running = runtime.running(settings)  # its registry when the platform runs, else the env's
    env["MLFLOW_TRACKING_URI"] = running.urls["mlflow"] if running else settings.mlflow_tracking_uri
    log = settings.state_dir / "logs" / "score.log"
    say(f"scoring {args.input} as partition {key} of batch_predictions")
    code = run_output.run_condensed(command, log, say, cwd=REPO_ROOT, env=env)
    if code == 0:
        say(f"predictions: {paths.output}")
        if stamp(paths.rejects, S3Access.of(settings)) is not None:
            say(f"refused rows, with the reason: {paths.rejects}")
    return code
