"""`mlops replay`: the release's replay pre-flight, run by hand on any registered version."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "score the logged requests with a version and the champion, as a release's replay_gate does (exit 1: it fails)"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> float:
    found = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r}: a number and s, m, h or d (e.g. 24h)")
    return int(found[1]) * UNITS[found[2]]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", required=True, help="the registered version to replay")
    parser.add_argument(
        "--since", type=_seconds, default=None, metavar="AGE", help="how far back (default REPLAY_WINDOW, 1 day)"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from mlflow import MlflowClient

    from core_assets.release.replay import replay_version
    from layer_api.manager import build_manager
    from mlops_platform import runtime
    from mlops_platform.verbs.output import error, printed

    running = runtime.running(settings)
    registry = running.urls["mlflow"] if running else settings.mlflow_tracking_uri
    window = args.since if args.since is not None else settings.replay_window.total_seconds()
    try:
        replayed, why_not = replay_version(
            MlflowClient(registry), settings, build_manager(settings), args.version, time.time() - window
        )
    except Exception as exc:  # the registry down, an unknown version: one line, no traceback
        return error(f"replay of v{args.version} could not run: {type(exc).__name__}: {str(exc)[:300]}")
    if replayed is None:
        print(f"skipped: {why_not}")
        return 0
    lines = [f"replay of {settings.model_name} v{args.version} on {replayed.rows} logged rows:", replayed.markdown()]
    lines += [f"  {reason}" for reason in replayed.reasons]
    lines.append("passed" if replayed.passed else "FAILED: a release would stop here")
    return printed("\n".join(lines), [] if replayed.passed else [f"v{args.version} fails the replay"])
