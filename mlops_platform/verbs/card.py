"""`mlops card`: a registered version's model card, as the registry knows it now."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_base.settings import Settings

HELP = "print a registered version's model card: data, code, gate, metrics, importance, releases"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_version", metavar="VERSION", help="a registered version of MODEL_NAME")
    parser.add_argument("--json", action="store_true", help="the card's JSON (its schema: docs/reference)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from layer_api.manager import build_manager
    from mlops_base.model_card import build_card, card_markdown
    from mlops_base.registry_rest import RegistryClient, RegistryError, RegistryUnreachable
    from mlops_platform import runtime
    from mlops_platform.verbs.output import error

    running = runtime.running(settings)
    registry = running.urls["mlflow"] if running else settings.mlflow_tracking_uri
    try:
        with RegistryClient(registry) as client:
            card = build_card(client, settings.model_name, args.model_version, build_manager(settings).card_facts)
    except RegistryError as exc:
        if exc.not_found:
            return error(f"{settings.model_name} has no version {args.model_version}", 1)
        return error(f"the registry refused: {str(exc)[:300]}")
    except RegistryUnreachable as exc:
        return error(f"the registry did not answer: {str(exc)[:300]}")
    print(card.model_dump_json(indent=1) if args.json else card_markdown(card))
    return 0
