"""`mlops restore`: an env's state put back from a backup, every file verified against its manifest
first; the state it replaces is kept beside it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "restore the env's state from a backup folder (verified first; the platform must be stopped)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="FROM", help="a folder `mlops backup` wrote")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from mlops_platform import runtime
    from mlops_platform.backup import BackupError, restore
    from mlops_platform.stack import say
    from mlops_platform.verbs.output import error, user_path

    try:
        done = restore(settings, user_path(args.source).resolve(), runtime.running(settings) is not None)
    except BackupError as exc:
        return error(str(exc))
    kept = f"; the state it replaced: {done.kept}" if done.kept else ""
    say(f"restored env {settings.mlops_env}: {done.files} files, {done.bytes / 1e6:.1f} MB{kept}")
    return 0
