"""Built-in alerts layer: release events posted to a Slack-compatible webhook."""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar

from layer_api import LayerInfo, hookimpl
from layer_api.events import LifecycleEvent
from mlops_base.env_settings import Process, Secret
from mlops_base.layer_settings import LayerSettings
from mlops_base.settings import Settings

ALERT_EVENTS = {
    "gate_failed": ":no_entry: quality gate failed",
    "served": ":rocket: deployed",
    "deploy_failed": ":x: deploy failed",
    "deploy_refused": ":no_entry_sign: deploy refused, alias unchanged",
    "rolled_back": ":leftwards_arrow_with_hook: rolled back",
    "readiness_failed": ":warning: registration failed, not deployed",
    "drift_detected": ":chart_with_downwards_trend: inputs drifted from the version's reference",
    "replay_failed": ":no_entry: replay of logged requests failed, not released",
}

_log = logging.getLogger("mlops.alerts")


class AlertsSettings(LayerSettings):
    READ_BY: ClassVar[tuple[Process, ...]] = ("launcher", "dagster")

    # a Slack-compatible webhook for release alerts (empty: off)
    slack_webhook_url: Annotated[str, Secret()] = ""


def alert_text(event: str, payload: dict[str, Any]) -> str:
    details = ", ".join(f"{key}={value}" for key, value in sorted(payload.items()) if value not in (None, ""))
    return f"{ALERT_EVENTS[event]}: {details}"


def post_alert(webhook_url: str, event: str, payload: dict[str, Any], timeout_s: float = 5.0) -> bool:
    """Post one alert; returns False (and logs) on any failure: an alert never fails the pipeline."""
    import httpx  # here: the layer is built into every process, the model server too (~70 ms of its start)

    try:
        response = httpx.post(webhook_url, json={"text": alert_text(event, payload)}, timeout=timeout_s)
        response.raise_for_status()
        return True
    except httpx.HTTPError as exc:
        _log.warning("alert %s not delivered: %s", event, exc)
        return False


class AlertsLayer:
    """Built in (on with every optional layer off): posts release events when a webhook is set."""

    SETTINGS = AlertsSettings

    def __init__(self, settings: Settings):
        self.webhook_url = AlertsSettings.of(settings).slack_webhook_url

    @hookimpl
    def mlops_layer_info(self) -> LayerInfo:
        return LayerInfo("alerts", "Release alerts to a Slack-compatible webhook (SLACK_WEBHOOK_URL)", "")

    @hookimpl
    def mlops_lifecycle_event(self, event: LifecycleEvent, payload: dict[str, Any]) -> None:
        if self.webhook_url and event in ALERT_EVENTS:
            post_alert(self.webhook_url, event, payload)
