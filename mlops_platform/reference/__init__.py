"""The reference pages under docs/reference/, generated from the code: `python -m mlops_platform.reference`
writes them, and a test fails when one differs from what the code generates now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlops_base.settings import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "reference"


def pages() -> dict[str, Callable[[], str]]:
    from mlops_platform.reference import cli_page, events_page, http_page, metrics_page, settings_page

    return {
        "settings.md": settings_page.page,
        "cli.md": cli_page.page,
        "http.md": http_page.page,
        "metrics.md": metrics_page.page,
        "events-and-hooks.md": events_page.page,
        "model-card.schema.json": _card_schema,
    }


def _card_schema() -> str:
    """The model card's JSON Schema (`mlops_base.model_card.ModelCard`), published for its readers."""
    import json

    from mlops_base.model_card import ModelCard

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **ModelCard.model_json_schema()}
    return json.dumps(schema, indent=1) + "\n"


def write(root: Path = DOCS) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for name, page in pages().items():
        (root / name).write_text(page())
        written.append(root / name)
    return written
