"""How an error message quotes what a caller sent: never more than a few hundred characters of it
(a 422 that echoes a 500 KB value is an amplifier and fills logs)."""

from __future__ import annotations

from typing import Any

LIMIT = 200


def clip(text: str, limit: int = LIMIT) -> str:
    """`text` as is when short, else its start and its length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def quoted(value: Any, limit: int = LIMIT) -> str:
    """`repr(value)`, clipped; a value nested too deep for `repr` is named by its type."""
    try:
        text = repr(value)
    except RecursionError:
        return f"a {type(value).__name__} nested too deep"
    return clip(text, limit)
