"""The monitoring layer's settings, read from the env's file and environment like the core's."""

from __future__ import annotations

from pydantic import Field

from mlops_base.layer_settings import LayerSettings


class MonitoringSettings(LayerSettings):
    # release metrics pushed by the Dagster runs (empty: not pushed)
    pushgateway_url: str = ""
    # metric-driven rollback of the challenger: where its metrics are, and what it must stay under
    prometheus_url: str = ""
    rollback_max_error_ratio: float = 0.05
    rollback_max_p99_seconds: float = 0.5
    rollback_window: str = Field("5m", pattern=r"^[0-9]+[smh]$")
