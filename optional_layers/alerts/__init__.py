"""Built-in alerts layer: a message to a Slack-compatible webhook for every step of a release
(registration with the gate's result, release with the replicas that swapped, rollback with its
reason and trigger, drift and ramp decisions) and for any run that failed, each linking its Dagster
run and MLflow version; SLACK_NOTIFY switches each kind."""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar

from pydantic import field_validator

from layer_api import LayerInfo, hookimpl
from layer_api.events import LifecycleEvent
from mlops_base.env_settings import Process, ReadBy, Secret
from mlops_base.layer_settings import LayerSettings
from mlops_base.settings import Settings
from optional_layers.alerts.messages import EVENTS, NOTIFY_KINDS, Links, message, notified_kinds

_log = logging.getLogger("mlops.alerts")


class AlertsSettings(LayerSettings):
    READ_BY: ClassVar[tuple[Process, ...]] = ("launcher", "dagster")

    # a Slack-compatible webhook for release alerts (empty: off)
    slack_webhook_url: Annotated[str, Secret()] = ""
    # the kinds of message posted (comma-separated): registration, release, rollback, run_failure,
    # drift, ramp
    slack_notify: Annotated[str, ReadBy(("dagster",))] = ",".join(NOTIFY_KINDS)
    # where a message's links point (empty: this machine's Dagster UI, and the MLflow tracking URI)
    dagster_ui_url: Annotated[str, ReadBy(("dagster",))] = ""
    mlflow_ui_url: Annotated[str, ReadBy(("dagster",))] = ""

    @field_validator("slack_notify")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        notified_kinds(value)
        return value


def post_alert(webhook_url: str, text: str, what: str, timeout_s: float = 5.0) -> bool:
    """Post one message; False (and logged) on any failure: an alert never fails the pipeline."""
    import httpx  # here: the layer is built into every process, the model server too (~70 ms of its start)

    try:
        response = httpx.post(webhook_url, json={"text": text}, timeout=timeout_s)
        response.raise_for_status()
        return True
    except httpx.HTTPError as exc:
        _log.warning("alert %s not delivered: %s", what, type(exc).__name__)  # the URL is a secret
        return False


class AlertsLayer:
    """Built in (on with every optional layer off): posts when a webhook is set."""

    SETTINGS = AlertsSettings

    def __init__(self, settings: Settings):
        layer = AlertsSettings.of(settings)
        self.webhook_url, self.kinds = layer.slack_webhook_url, notified_kinds(layer.slack_notify)
        dagster_ui = layer.dagster_ui_url or f"http://127.0.0.1:{settings.dagster_port}"
        self.links = Links(dagster_ui, layer.mlflow_ui_url or settings.mlflow_tracking_uri, settings.model_name)

    def post(self, event: str, payload: dict[str, Any]) -> bool:
        """The event's message, when a webhook is set and SLACK_NOTIFY names its kind."""
        if not self.webhook_url or event not in EVENTS or EVENTS[event][0] not in self.kinds:
            return False
        return post_alert(self.webhook_url, message(event, payload, self.links), event)

    @hookimpl
    def mlops_layer_info(self) -> LayerInfo:
        return LayerInfo("alerts", "Release alerts to a Slack-compatible webhook (SLACK_WEBHOOK_URL)", "")

    @hookimpl
    def mlops_lifecycle_event(self, event: LifecycleEvent, payload: dict[str, Any]) -> None:
        self.post(event, payload)

    @hookimpl
    def mlops_dagster_definitions(self):
        if not self.webhook_url or "run_failure" not in self.kinds:
            return None
        from optional_layers.alerts.definitions import alerts_definitions  # Dagster only where it runs

        return alerts_definitions(self.post)
