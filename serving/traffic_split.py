"""Which alias answers a request: sticky buckets per client id, one rule per selection mode."""

from __future__ import annotations

import hashlib
import random
from typing import NamedTuple

from mlops_base.aliases import ALIASES, CHALLENGER, CHAMPION, Alias, other
from mlops_base.ramp import RampState, ramp_share
from mlops_base.serving_settings import SelectionMode
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


class Routing(NamedTuple):
    """How requests are split now, as one value the data plane reads per request and replaces whole
    (when the ramp's step moves). In ramp mode the challenger's share depends on which version B
    serves: a version the ramp's state does not name gets the first step."""

    mode: SelectionMode
    default_alias: Alias
    percent: int  # B's share in ab_test and canary
    steps: tuple[int, ...]  # the ramp's shares
    ramp: RampState | None = None

    @classmethod
    def of(cls, settings: Settings, ramp: RampState | None = None) -> Routing:
        mode = settings.alias_selection_mode
        percent = settings.canary_percent if mode == "canary" else settings.ab_test_percent
        return cls(mode, settings.default_alias, percent, settings.ramp_step_list, ramp)

    def challenger_share(self, challenger: str | None) -> int:
        """Percent of traffic B answers (both aliases loaded), B serving version `challenger`."""
        if self.mode in ("ab_test", "canary"):
            return self.percent
        if self.mode == "ramp":
            return ramp_share(self.ramp, challenger, self.steps)
        return 0


def configured_split(routing: Routing, challenger: str | None) -> dict[Alias, int]:
    """Percent of traffic each alias answers, as configured (both aliases loaded)."""
    if routing.mode in ("ab_test", "canary", "ramp"):
        share = routing.challenger_share(challenger)
        return {CHAMPION: 100 - share, CHALLENGER: share}
    return {routing.default_alias: 100, other(routing.default_alias): 0}


def effective_split(routing: Routing, loaded: set[Alias], challenger: str | None) -> dict[Alias, int]:
    """The split actually applied: with one alias loaded, it takes everything."""
    if len(loaded) == 1:
        [only] = loaded
        return {alias: 100 if alias == only else 0 for alias in ALIASES}
    if not loaded:
        return {alias: 0 for alias in ALIASES}
    return configured_split(routing, challenger)


def route(routing: Routing, client_bucket: int, loaded: set[Alias], challenger: str | None = None) -> Route:
    """The alias that answers; buckets below B's share go to B, so a client on B stays on B while
    the share grows (the ramp's steps nest)."""
    if not loaded:
        raise NoModelLoaded("no model is loaded yet")
    if len(loaded) == 1:
        [only] = loaded
        return Route(only)
    mode = routing.mode
    if mode in ("ab_test", "canary", "ramp"):
        return Route(CHALLENGER if client_bucket < routing.challenger_share(challenger) else CHAMPION)
    if mode == "shadow":
        return Route(routing.default_alias, shadow=other(routing.default_alias))
    return Route(routing.default_alias)
