"""Logging layer hooks: JSON log handlers for the model server and the Dagster processes, and the
counts of what reached Loki (exported by the monitoring layer when it is on)."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from layer_api import LayerInfo, hookimpl
from mlops_base.layer_settings import LayerSettings
from mlops_base.settings import Component, Settings
from optional_layers.loki.formatter import JsonFormatter
from optional_layers.loki.handler import LokiHandler
from optional_layers.loki.settings import LoggingSettings

FILE_MAX_BYTES = 10 * 1024 * 1024
FILE_BACKUPS = 5  # at most ~60 MB of JSON lines per env


def log_file(settings: Settings, component: str):
    return settings.state_dir / "logs" / f"{component}.jsonl"


class LoggingLayer:
    """JSON log handlers per component, built once (they are attached once), and their counts."""

    SETTINGS = LoggingSettings  # its settings class (the settings reference lists it)

    def __init__(self, settings: Settings):
        self.settings = settings
        self.loki_url = LoggingSettings.of(settings).loki_url
        self.handlers: dict[Component, list[logging.Handler]] = {}

    @hookimpl
    def mlops_layer_info(self) -> LayerInfo:
        return LayerInfo(
            "logging",
            "structured JSON logs, pushed to Loki (LOKI_URL) and kept in a rotating file",
            "gitops/optional/logging",
        )

    @hookimpl
    def mlops_logging_handlers(self, component: Component) -> list[logging.Handler]:
        if component not in self.handlers:
            self.handlers[component] = self._build(component)
        return self.handlers[component]

    def _build(self, component: Component) -> list[logging.Handler]:
        settings = self.settings
        # every secret of the core and of the layers' settings, masked wherever it slips into a message
        layers = [cls.of(settings) for cls in LayerSettings.__subclasses__()]
        secrets = tuple(value for owner in (settings, *layers) for value in owner.secret_values())
        formatter = JsonFormatter(settings.mlops_env, component, secrets)
        handlers: list[logging.Handler] = []
        if self.loki_url:
            handlers.append(LokiHandler(self.loki_url, formatter))
        if component == "serving":  # the local default: a rotating JSON file under the state dir
            path = log_file(settings, component)
            path.parent.mkdir(parents=True, exist_ok=True)
            rotating = RotatingFileHandler(path, maxBytes=FILE_MAX_BYTES, backupCount=FILE_BACKUPS, encoding="utf-8")
            rotating.setFormatter(formatter)
            handlers.append(rotating)
        return handlers

    @hookimpl
    def mlops_metric_values(self) -> dict[str, float]:
        pushers = [h for handlers in self.handlers.values() for h in handlers if isinstance(h, LokiHandler)]
        return {
            "mlops_log_records_sent_total": sum(h.sent for h in pushers),
            "mlops_log_records_dropped_total": sum(h.dropped for h in pushers),
            "mlops_log_pushes_failed_total": sum(h.failed_pushes for h in pushers),
        }  # Loki down or refusing
