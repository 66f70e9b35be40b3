"""`mlops promote`: the champion A takes the challenger B's version, through promote_job."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "the champion A takes the challenger B's version, through promote_job"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="", help="recorded in the alias history (default: says what moved)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from mlops_platform import levers

    return levers.run_lever(
        settings, lambda registry_url, dag: levers.promote(settings, registry_url, dag, args.reason)
    )
