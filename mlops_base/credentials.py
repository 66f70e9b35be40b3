"""Credential values as settings hold them: one token, or several named ones (`name:token,...`),
one per source (e.g. each team that feeds outcomes back). Shared by the model server, which checks
them, and the processes that send them."""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# values that must never protect anything outside dev
WEAK_TOKENS = frozenset({"changeme", "change-me", "dev-reload-token", "token", "secret", "password"})
MIN_LENGTH = 16


def named_tokens(value: str, default_name: str) -> list[tuple[str, str]]:
    """(name, token) pairs of a setting's value: `tok`, or `name:tok,name2:tok2`."""
    pairs = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, sep, token = item.partition(":")
        pairs.append((name, token) if sep and _NAME.match(name) and token else (default_name, item))
    return pairs


def first_token(value: str) -> str:
    """The token a client process sends (the first of a named list)."""
    pairs = named_tokens(value, "")
    return pairs[0][1] if pairs else ""


def weakness(token: str) -> str | None:
    """Why `token` is too weak to protect a route, or None. Never quotes the token."""
    if token.lower() in WEAK_TOKENS:
        return "a well-known default value"
    if len(token) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    return None
