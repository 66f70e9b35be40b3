"""Lifecycle events reach a Slack-compatible webhook (a real local HTTP server); a failed post never raises."""

from __future__ import annotations

import pytest

from core_assets.lib.events import emit_lifecycle_event
from layer_api.manager import LayerManager
from mlops_base.settings import load_settings
from mlops_platform.processes import free_port


def _layers() -> LayerManager:
    """Built after the test set its webhook; alerts are built in: on with every layer off."""
    return LayerManager(load_settings("dev"), set())


@pytest.mark.parametrize("event", ["gate_failed", "served", "rolled_back", "readiness_failed"])
def test_alert_events_are_posted(webhook, event, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    emit_lifecycle_event(event, {"version": "3", "accuracy": 0.8}, _layers())
    [message] = received
    assert "version=3" in message["text"] and "accuracy=0.8" in message["text"]


def test_non_alert_events_are_not_posted(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    emit_lifecycle_event("version_registered", {"version": "3"}, _layers())
    assert received == []


def test_a_dead_webhook_never_fails_the_pipeline(caplog, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    emit_lifecycle_event("gate_failed", {"version": "3"}, _layers())
    assert "alert gate_failed not delivered" in caplog.text
