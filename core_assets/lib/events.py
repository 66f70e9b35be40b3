"""The single emission point of lifecycle events (gate failed, registered, served, rolled back, ...).

Alerts, metrics and logs subscribe here: optional layers will through the hook system; the
built-in Slack alert already does.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from core_assets.lib.alerts import ALERT_EVENTS, post_alert
from mlops_platform.settings import load_settings

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
    webhook = load_settings().slack_webhook_url
    if webhook and event in ALERT_EVENTS:
        post_alert(webhook, event, payload)
