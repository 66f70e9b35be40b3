"""`mlops backup`: the env's registry, Dagster instance and evaluation store copied, with a manifest,
while the platform runs or not."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "back up the env's registry, Dagster runs and evaluation store (with a verified manifest)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to", metavar="DIR", default=None, help="a new or empty folder (default: .mlops/backups/<env>-<time>)"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from mlops_platform.backup import BackupError, backup
    from mlops_platform.stack import say
    from mlops_platform.verbs.output import error, user_path

    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    destination = (
        user_path(args.to) if args.to else settings.state_dir.parent / "backups" / f"{settings.mlops_env}-{stamp}"
    )
    try:
        manifest = backup(settings, destination.resolve())
    except BackupError as exc:
        return error(str(exc))
    size = sum(f["bytes"] for f in manifest["files"])
    say(f"backed up env {settings.mlops_env}: {len(manifest['files'])} files, {size / 1e6:.1f} MB -> {destination}")
    return 0
