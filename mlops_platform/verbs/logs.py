"""`mlops logs`: the local platform's logs, one service or each."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "show the local platform's logs (one service, or each)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", nargs="?", help="mlflow, serving, dagster, ... (default: each)")
    parser.add_argument("-n", type=int, default=20, metavar="N", help="lines per log (default 20)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing what is appended")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from mlops_platform import state_files
    from mlops_platform.verbs.output import error

    try:
        state_files.show_logs(settings, args.service, args.n, args.follow)
    except state_files.NotFound as exc:
        return error(str(exc))
    except KeyboardInterrupt:
        pass
    return 0
