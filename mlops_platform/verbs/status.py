"""`mlops status`: aliases, the version each replica serves, the last moves and the layers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "aliases, the version each replica serves, the last moves and the layers (exit 1: a replica differs)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", type=int, default=5, metavar="N", help="how many recent moves (default 5)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from mlops_platform import runtime, status
    from mlops_platform.verbs.output import error, printed

    running = runtime.running(settings)
    try:
        report = status.status(settings, running, args.n)
    except status.Unreachable as exc:
        hint = "" if running else f" (no local platform of env {settings.mlops_env} runs: ./mlops up)"
        return error(f"{exc}{hint}")
    return printed(report.text, report.problems)
