"""Lifecycle events reach a Slack-compatible webhook (a real local HTTP server); a failed post never raises."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from core_assets.lib.events import emit_lifecycle_event
from mlops_platform.processes import free_port


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("event", ["gate_failed", "served", "rolled_back", "readiness_failed"])
def test_alert_events_are_posted(webhook, monkeypatch, event):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    emit_lifecycle_event(event, {"version": "3", "accuracy": 0.8})
    [message] = received
    assert "version=3" in message["text"] and "accuracy=0.8" in message["text"]


def test_non_alert_events_are_not_posted(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    emit_lifecycle_event("version_registered", {"version": "3"})
    assert received == []


def test_a_dead_webhook_never_fails_the_pipeline(monkeypatch, caplog):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    emit_lifecycle_event("gate_failed", {"version": "3"})
    assert "alert gate_failed not delivered" in caplog.text
