"""The registry aliases the platform serves: a closed set, checked wherever one is read.

A `StrEnum` (members named like their values) so that settings, Dagster config, FastAPI paths
and JSON all take and show the plain `A`/`B`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Alias(StrEnum):
    A = "A"  # the champion
    B = "B"  # the challenger


CHAMPION: Final = Alias.A
CHALLENGER: Final = Alias.B
ALIASES: Final = tuple(Alias)
# the registered model's tags that mirror the alias history (one JSON move each): what a reader
# without Dagster (a model card, the model server) knows of a version's releases
MIRROR_PREFIX: Final = "alias_history."


def other(alias: Alias) -> Alias:
    return CHALLENGER if alias == CHAMPION else CHAMPION
