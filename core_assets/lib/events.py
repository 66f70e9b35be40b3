"""The single emission point of lifecycle events (gate failed, registered, served, rolled back).

Alerts, metrics and logs will subscribe through the optional-layer hook system; until then an
event is one structured log line, so nothing calls a layer directly.
"""

from __future__ import annotations

import json
import logging
from typing import Any

LIFECYCLE_EVENTS = ("gate_failed", "version_registered", "served", "rolled_back", "deploy_failed")

_log = logging.getLogger("mlops.lifecycle")


def emit_lifecycle_event(event: str, payload: dict[str, Any], log: logging.Logger | None = None) -> None:
    if event not in LIFECYCLE_EVENTS:
        raise ValueError(f"unknown lifecycle event {event!r}; known: {', '.join(LIFECYCLE_EVENTS)}")
    level = logging.WARNING if event in ("gate_failed", "deploy_failed", "rolled_back") else logging.INFO
    (log or _log).log(level, "lifecycle event %s %s", event, json.dumps(payload, default=str, sort_keys=True))
