"""The single emission point of lifecycle events (gate failed, registered, served, rolled back, ...).

Subscribers (the built-in alerts, optional layers' metrics and logs) implement the
`mlops_lifecycle_event` hook; the core calls them through the layer manager it was handed, and
passes them the settings the run was loaded with.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal, get_args

from mlops_base.settings import Settings
from optional_layers.manager import LayerManager

LifecycleEvent = Literal[
    "gate_failed",
    "version_registered",
    "served",
    "deploy_failed",
    "deploy_refused",
    "rolled_back",
    "readiness_failed",
]
WARNING_EVENTS = {"gate_failed", "deploy_failed", "deploy_refused", "rolled_back", "readiness_failed"}

_log = logging.getLogger("mlops.lifecycle")


def emit_lifecycle_event(
    event: LifecycleEvent,
    payload: dict[str, Any],
    settings: Settings,
    layers: LayerManager,
    log: logging.Logger | None = None,
) -> None:
    if event not in get_args(LifecycleEvent):
        raise ValueError(f"unknown lifecycle event {event!r}; known: {', '.join(get_args(LifecycleEvent))}")
    level = logging.WARNING if event in WARNING_EVENTS else logging.INFO
    (log or _log).log(level, "lifecycle event %s %s", event, json.dumps(payload, default=str, sort_keys=True))
    layers.lifecycle_event(event, payload, settings)
