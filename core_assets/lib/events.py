"""The single emission point of lifecycle events (gate failed, registered, served, rolled back, ...).

Subscribers (the built-in alerts, optional layers' metrics and logs) implement the
`mlops_lifecycle_event` hook; the core never calls them directly.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mlops_platform.settings import current_env
from optional_layers.manager import get_manager

LIFECYCLE_EVENTS = (
    "gate_failed", "version_registered", "served", "deploy_failed", "rolled_back", "readiness_failed",
)
WARNING_EVENTS = {"gate_failed", "deploy_failed", "rolled_back", "readiness_failed"}

_log = logging.getLogger("mlops.lifecycle")


def emit_lifecycle_event(event: str, payload: dict[str, Any], log: logging.Logger | None = None) -> None:
    if event not in LIFECYCLE_EVENTS:
        raise ValueError(f"unknown lifecycle event {event!r}; known: {', '.join(LIFECYCLE_EVENTS)}")
    level = logging.WARNING if event in WARNING_EVENTS else logging.INFO
    (log or _log).log(level, "lifecycle event %s %s", event, json.dumps(payload, default=str, sort_keys=True))
    get_manager(current_env()).lifecycle_event(event, payload)
