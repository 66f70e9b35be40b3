"""`mlops predict`: send rows from a JSON or CSV file (or stdin) to the model server."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mlops_base.aliases import Alias

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "send rows from a JSON or CSV file (or - for stdin) to the model server"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a .json or .csv file, or - to read stdin")
    parser.add_argument("--format", choices=["json", "csv"], default=None, help="default: from the suffix")
    parser.add_argument("--url", default=None, help="model server (default: this env's local one)")
    parser.add_argument("--variant", type=Alias, choices=list(Alias), default=None, help="ask one alias")
    parser.add_argument("--client-id", default=None, help="sticky routing key (x-client-id)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from mlops_base.credentials import first_token
    from mlops_platform import predict, runtime
    from mlops_platform.verbs.output import error, user_path

    url = (args.url or runtime.local_serving_url(settings)).rstrip("/")
    try:
        if args.file == "-":
            text, kind = sys.stdin.read(), args.format
        else:
            path = user_path(args.file)
            text, kind = path.read_text(), args.format or {".csv": "csv", ".json": "json"}.get(path.suffix.lower())
        request = predict.body(text, kind)
    except (OSError, predict.BadInput) as exc:
        return error(str(exc))
    try:
        response = predict.predict(url, request, args.variant, args.client_id, first_token(settings.predict_token))
    except httpx.HTTPError as exc:
        return error(f"no answer from the model server at {url} ({type(exc).__name__}); ./mlops up?")
    if response.is_success:
        print(response.text)
        return 0
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return error(f"{response.status_code} from {url}: {detail}", 1)
