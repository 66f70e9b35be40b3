"""`mlops up`: the local platform (MLflow, model server, Dagster) until Ctrl-C."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "start the local platform (MLflow, model server, Dagster) until Ctrl-C"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replicas",
        type=_replicas,
        default=0,
        metavar="N",
        help="N model-server replicas behind HAProxy on SERVING_PORT (the replicas on the N ports after it)",
    )


def _replicas(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("cannot be negative (0, the default: one model server and no balancer)")
    return value


def run(settings: Settings, args: argparse.Namespace) -> int:
    from mlops_platform.launcher import up

    return up(settings, args.replicas)
