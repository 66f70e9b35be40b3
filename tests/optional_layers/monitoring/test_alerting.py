"""Alerts reach a person: a real Prometheus evaluates a rule and sends to a real Alertmanager
(Debian's), which posts to a Slack-compatible webhook (a real local HTTP server: no Slack here) the
firing message, then the resolved one. The rule is the test's own, so that it resolves in seconds
(the layer's rules hold for minutes; promtool tests them: test_rules_and_dashboards.py). The
cluster's Alertmanager gets the same receiver, its URL read from a Secret."""

from __future__ import annotations

import httpx
import pytest
import yaml

from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import alerting, processes
from mlops_platform.release_watch import wait_for
from mlops_platform.stack import start_monitoring
from optional_layers.monitoring.alerting import RECEIVER, SECRET, SECRET_FILE, alertmanager_config

VALUES = REPO_ROOT / "gitops" / "optional" / "monitoring" / "values.yaml"
PUSHED = "/metrics/job/mlops-pipeline/env/dev"
RULE = {
    "alert": "MlopsTestSignal",
    "expr": "mlops_test_signal > 0",
    "labels": {"severity": "page"},
    "annotations": {"summary": "The test signal is {{ $value }}"},
}


def _push(pushgateway: str, value: int) -> None:
    httpx.put(f"{pushgateway}{PUSHED}", content=f"mlops_test_signal {value}\n").raise_for_status()


def _texts(received: list[dict]) -> list[str]:
    return [f"{m['attachments'][0]['title']} | {m['attachments'][0]['text']}" for m in received]


@pytest.mark.real
def test_a_rule_fires_and_resolves_and_both_messages_reach_the_webhook(tmp_path, pushgateway, webhook):
    url, received = webhook
    services = []
    try:
        alertmanager = alerting.start_alertmanager(
            tmp_path, url, group_wait="1s", group_interval="1s", repeat_interval="1h"
        )
        services.append(alertmanager)
        assert oct((tmp_path / "alertmanager.yml").stat().st_mode & 0o777) == "0o600"  # it holds the secret URL
        rules = tmp_path / "rules.yaml"
        rules.write_text(yaml.safe_dump({"groups": [{"name": "test", "rules": [RULE]}]}))
        prometheus = alerting.start_prometheus(
            tmp_path, {"pushgateway": [pushgateway]}, alertmanager.url, "1s", (rules,)
        )
        services.append(prometheus)
        _push(pushgateway, 1)
        wait_for("the firing message", lambda: any("FIRING: MlopsTestSignal" in t for t in _texts(received)), 60)
        assert "The test signal is 1 (page)" in _texts(received)[0]

        _push(pushgateway, 0)
        wait_for("the resolved message", lambda: any("RESOLVED: MlopsTestSignal" in t for t in _texts(received)), 60)
    finally:
        for service in reversed(services):
            processes.stop(service)


def test_the_cluster_alertmanager_routes_to_the_same_receiver_from_a_secret():
    values = yaml.safe_load(VALUES.read_text())["alertmanager"]
    assert values["config"] == alertmanager_config({"api_url_file": SECRET_FILE})
    assert values["alertmanagerSpec"]["secrets"] == [SECRET]
    assert values["config"]["route"]["receiver"] == RECEIVER


def test_up_starts_prometheus_for_the_slo_rollback_without_a_webhook(tmp_path, monkeypatch):
    """No SLACK_WEBHOOK_URL: Prometheus still starts (the SLO rollback's signals), Alertmanager does not."""
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "")
    settings = load_settings("dev", mlops_state_dir=tmp_path, serving_port=processes.free_port())
    services = []
    try:
        url = start_monitoring(settings, 0, tmp_path, lambda service, _line: services.append(service))
        assert [service.name for service in services] == ["prometheus"] and url == services[0].url
        config = yaml.safe_load((tmp_path / "alerting" / "prometheus.yml").read_text())
        assert "alerting" not in config
        [job] = config["scrape_configs"]
        assert job["static_configs"] == [{"targets": [f"127.0.0.1:{settings.serving_port}"]}]
        rules = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert rules, "the layer's rules are loaded"
    finally:
        for service in services:
            processes.stop(service)
