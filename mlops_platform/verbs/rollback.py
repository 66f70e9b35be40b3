"""`mlops rollback`: point an alias back at an earlier version, through rollback_job."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mlops_base.aliases import Alias

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "point an alias back at an earlier version, through rollback_job"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alias", type=Alias, choices=list(Alias), default=None, help="A or B (default: TARGET_ALIAS)")
    parser.add_argument(
        "--to", metavar="VERSION", default=None, help="the version to restore (default: the one before the last move)"
    )
    parser.add_argument("--reason", default="", help="recorded in the alias history (default: says what moved)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from mlops_platform import levers

    return levers.run_lever(
        settings,
        lambda registry_url, dag: levers.rollback(settings, registry_url, dag, args.alias, args.to, args.reason),
    )
