"""`mlops traffic`: measure the model server's traffic split."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "measure the model server's traffic split (exit 1: a share outside its interval or failed requests)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", type=int, default=2000, help="requests to send (default 2000)")
    parser.add_argument("--url", default=None, help="model server (default: this env's local one)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from mlops_platform import runtime, traffic
    from mlops_platform.verbs.output import error, printed

    url = (args.url or runtime.local_serving_url(settings)).rstrip("/")
    try:
        measured = traffic.report(url, args.n)
    except (httpx.HTTPError, ValueError, KeyError) as exc:  # down, or not a model server
        return error(f"cannot measure the model server at {url}: {type(exc).__name__}: {exc}")
    return printed(measured.text, measured.problems)
