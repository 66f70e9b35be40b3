"""The logging layer's settings, read from the env's file and environment like the core's."""

from __future__ import annotations

from typing import ClassVar

from mlops_base.env_settings import Process
from mlops_base.layer_settings import LayerSettings


class LoggingSettings(LayerSettings):
    READ_BY: ClassVar[tuple[Process, ...]] = ("dagster", "serving")

    # Loki's base URL (empty: JSON lines in the model server's rotating file only)
    loki_url: str = ""
