"""`mlops materialize`: assets materialized into the running platform's instance."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "materialize assets into the local instance"
# "*": the whole graph but batch scoring's partitioned asset, which a run takes one partition at a
# time (`./mlops score`, the UI): Dagster refuses a selection with partitions and no --partition
WHOLE_GRAPH = "not group:batch"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--select", default="*", help="asset selection (default: the whole graph but batch scoring's partitions)"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    return materialize(settings, args.select)


def materialize(settings: Settings, select: str) -> int:
    """Materialize into the running platform's instance, so runs show in its UI; a release reaches
    every replica the platform runs."""
    import os

    from mlops_base.settings import REPO_ROOT
    from mlops_platform import run_output, runtime
    from mlops_platform.stack import BIN, dagster_env, say

    selection = WHOLE_GRAPH if select == "*" else select
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", "core_assets.definitions", "--select", selection]
    env = {**os.environ, **dagster_env(settings)}
    running = runtime.running(settings)
    if running and running.urls.get("balancer"):  # `up --replicas N`: the release reloads and verifies each
        env["SERVING_REPLICA_URLS"] = ",".join(running.serving_urls)
    log = settings.state_dir / "logs" / "materialize.log"
    return run_output.run_condensed(command, log, say, cwd=REPO_ROOT, env=env)
