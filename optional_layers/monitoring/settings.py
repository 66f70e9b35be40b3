"""The monitoring layer's settings, read from the env's file and environment like the core's."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mlops_base.env_settings import Process
from mlops_base.layer_settings import LayerSettings


class MonitoringSettings(LayerSettings):
    READ_BY: ClassVar[tuple[Process, ...]] = ("dagster",)

    # release metrics pushed by the Dagster runs (empty: not pushed)
    pushgateway_url: str = ""
    # metric-driven rollback of the challenger: where its metrics are, and what it must stay under
    prometheus_url: str = ""
    rollback_max_error_ratio: float = 0.05
    rollback_max_p99_seconds: float = 0.5
    rollback_window: str = Field("5m", pattern=r"^[0-9]+[smh]$")
