"""Alerts that reach a person: Alertmanager routes the layer's alerts to the Slack webhook
(SLACK_WEBHOOK_URL), firing and resolved. One receiver definition for both places it runs: the
local Alertmanager (`./mlops up`: the URL in its config file, mode 0600) and the cluster's
(kube-prometheus-stack: the URL read from a mounted Secret's file)."""

from __future__ import annotations

from typing import Any

RECEIVER = "slack"
# the Secret the cluster's Alertmanager mounts (key `url`): created from the secret store, never in git
SECRET = "mlops-slack-webhook"
SECRET_FILE = f"/etc/alertmanager/secrets/{SECRET}/url"
TITLE = '{{ if eq .Status "firing" }}FIRING{{ else }}RESOLVED{{ end }}: {{ .CommonLabels.alertname }}'
TEXT = "{{ range .Alerts }}{{ .Annotations.summary }} ({{ .Labels.severity }})\n{{ end }}"


def alertmanager_config(
    webhook: dict[str, str], group_wait: str = "30s", group_interval: str = "5m", repeat_interval: str = "4h"
) -> dict[str, Any]:
    """Alertmanager's configuration: every alert to the Slack receiver, resolved ones too.
    `webhook` is {"api_url": URL} locally or {"api_url_file": path} in the cluster."""
    return {
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname", "variant"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [
            {"name": RECEIVER, "slack_configs": [{**webhook, "send_resolved": True, "title": TITLE, "text": TEXT}]}
        ],
    }


def prometheus_alerting(alertmanager_url: str) -> dict[str, Any]:
    """The `alerting` block of a Prometheus configuration sending to that Alertmanager."""
    return {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}]}
