"""The single emission point of lifecycle events (gate failed, registered, served, rolled back, ...).

Subscribers (the built-in alerts, optional layers' metrics and logs) implement the
`mlops_lifecycle_event` hook; the core calls them through the layer manager it was handed (its
layers were built with the settings the run was loaded with).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from layer_api.events import WARNING_EVENTS, LifecycleEvent
from layer_api.manager import LayerManager

_log = logging.getLogger("mlops.lifecycle")


def emit_lifecycle_event(
    event: LifecycleEvent, payload: dict[str, Any], layers: LayerManager, log: logging.Logger | None = None
) -> None:
    """Log the event, then notify every subscriber (the manager refuses a name outside the vocabulary)."""
    level = logging.WARNING if event in WARNING_EVENTS else logging.INFO
    (log or _log).log(level, "lifecycle event %s %s", event, json.dumps(payload, default=str, sort_keys=True))
    layers.lifecycle_event(event, payload)
