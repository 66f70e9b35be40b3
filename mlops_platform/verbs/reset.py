"""`mlops reset`: delete the env's local state after confirming."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "delete the env's local state (registry, runs, artifacts, logs) after confirming"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask (required without a terminal)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from mlops_platform import runtime, state_files
    from mlops_platform.verbs.output import error

    state = settings.state_dir
    if runtime.running(settings):
        return error(f"the {settings.mlops_env} platform is running: stop it (Ctrl-C) before a reset")
    if not state.exists():
        print(f"nothing to reset: {state} does not exist")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            return error("reset deletes the env's state; confirm with --yes (stdin is not a terminal)")
        answer = input(f"delete {state} (registry, artifacts, Dagster runs, logs) of env {settings.mlops_env}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    try:
        print(f"deleted {runtime.shown(state_files.reset(settings))}; envs/{settings.mlops_env}/ is unchanged")
    except (OSError, state_files.NotFound) as exc:
        return error(str(exc))
    return 0
