"""Which alias answers a request: sticky buckets per client id, one rule per selection mode."""

from __future__ import annotations

import hashlib
import random
from typing import NamedTuple

from mlops_base.aliases import ALIASES, CHALLENGER, CHAMPION, Alias, other
from mlops_base.settings import Settings


class NoModelLoaded(RuntimeError):
    pass


class Route(NamedTuple):  # built per request: a frozen dataclass cost ~1 us more
    alias: Alias
    shadow: Alias | None = None


def bucket(client_id: str | None) -> int:
    """0..99, stable for a client id (sticky); random for anonymous requests."""
    if not client_id:
        return random.randrange(100)
    return int.from_bytes(hashlib.sha256(client_id.encode()).digest()[:8], "big") % 100


def configured_split(settings: Settings) -> dict[Alias, int]:
    """Percent of traffic each alias answers, as configured (both aliases loaded)."""
    mode = settings.alias_selection_mode
    if mode in ("ab_test", "canary"):
        share = settings.ab_test_percent if mode == "ab_test" else settings.canary_percent
        return {CHAMPION: 100 - share, CHALLENGER: share}
    return {settings.default_alias: 100, other(settings.default_alias): 0}


def effective_split(settings: Settings, loaded: set[Alias]) -> dict[Alias, int]:
    """The split actually applied: with one alias loaded, it takes everything."""
    if len(loaded) == 1:
        [only] = loaded
        return {alias: 100 if alias == only else 0 for alias in ALIASES}
    if not loaded:
        return {alias: 0 for alias in ALIASES}
    return configured_split(settings)


def route(settings: Settings, client_bucket: int, loaded: set[Alias]) -> Route:
    if not loaded:
        raise NoModelLoaded("no model is loaded yet")
    if len(loaded) == 1:
        [only] = loaded
        return Route(only)
    mode = settings.alias_selection_mode
    if mode in ("ab_test", "canary"):
        share = settings.ab_test_percent if mode == "ab_test" else settings.canary_percent
        return Route(CHALLENGER if client_bucket < share else CHAMPION)
    if mode == "shadow":
        return Route(settings.default_alias, shadow=other(settings.default_alias))
    return Route(settings.default_alias)
