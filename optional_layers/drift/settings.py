"""The drift layer's settings, read from the env's file and environment like the core's."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import Field

from mlops_base.env_settings import Process, ReadBy
from mlops_base.layer_settings import LayerSettings


class DriftSettings(LayerSettings):
    READ_BY: ClassVar[tuple[Process, ...]] = ("dagster", "serving")

    # the chance that a version raises any false alarm, over all its columns and however long it
    # serves (the tests are always-valid: looking more often does not raise it)
    drift_alpha: Annotated[float, ReadBy(("serving",))] = Field(0.05, gt=0.0, lt=0.5)
    # the smallest shift that may alarm, as the population stability index of the live rows against
    # the reference (0.1: a moderate shift; below it a shift is significant but negligible)
    drift_min_effect: Annotated[float, ReadBy(("serving",))] = Field(0.1, ge=0.0)
    # the tests look every this many rows of a version (a bet against the reference starts at each look)
    drift_look_rows: Annotated[int, ReadBy(("serving",))] = Field(250, ge=10, le=1_000_000)
    # a confirmed drift trains a new version (trigger `drift`) on the env's data plus the labelled
    # traffic of DRIFT_RETRAIN_WINDOW, gated against the champion and released as challenger B
    auto_retrain: Annotated[bool, ReadBy(("dagster",))] = False
    # how far back logged inputs with fed-back outcomes join the retraining data (ISO 8601, e.g. P7D)
    drift_retrain_window: Annotated[timedelta, ReadBy(("dagster",))] = timedelta(days=7)
    # at most one drift retrain per version this often (ISO 8601, e.g. PT6H)
    drift_cooldown: Annotated[timedelta, ReadBy(("dagster",))] = timedelta(hours=6)
