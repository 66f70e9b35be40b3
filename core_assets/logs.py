"""The Dagster runs' own log (every record with its run id and step) to the optional layers'
handlers. Dagster hands each run's log to the handlers of the instance's
`python_logs.dagster_handler_config`; the one named there, `LayerHandlers`, forwards to those the
code location's assembly registered in this process (none: it does nothing)."""

from __future__ import annotations

import logging

_routed: list[logging.Handler] = []

# the instance setting (dagster.yaml; the Helm chart's `pythonLogs.dagsterHandlerConfig`)
PYTHON_LOGS = {
    "dagster_handler_config": {"handlers": {"layers": {"class": "core_assets.logs.LayerHandlers", "level": "INFO"}}}
}


def route_to(handlers: list[logging.Handler]) -> None:
    _routed[:] = handlers


class LayerHandlers(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        for handler in list(_routed):
            if record.levelno >= handler.level:
                handler.handle(record)
