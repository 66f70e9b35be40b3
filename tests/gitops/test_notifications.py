"""Argo CD notifications: sync failures, degraded health and deployments of every platform app
(core and optional layers) go to Slack. Checked offline on the rendered bootstrap."""

from __future__ import annotations

import yaml

from mlops_base.settings import REPO_ROOT
from tests.gitops.manifests import core_applications, documents, kustomize, render

TRIGGERS = {
    "on-sync-failed": "app-sync-failed",
    "on-health-degraded": "app-health-degraded",
    "on-deployed": "app-deployed",
}


def _config() -> dict:
    [cm] = [d for d in render(REPO_ROOT / "gitops" / "bootstrap") if d["metadata"]["name"] == "argocd-notifications-cm"]
    assert cm["metadata"]["namespace"] == "argocd"
    return cm["data"]


def _selected(selector: str, labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in (term.split("=") for term in selector.split(",")))


def test_each_trigger_sends_its_template_to_slack():
    data = _config()
    assert yaml.safe_load(data["service.slack"]) == {"token": "$slack-token"}
    for trigger, template in TRIGGERS.items():
        [condition] = yaml.safe_load(data[f"trigger.{trigger}"])
        assert condition["send"] == [template] and condition["when"]
        assert "{{.app.metadata.name}}" in yaml.safe_load(data[f"template.{template}"])["message"]
    [deployed] = yaml.safe_load(data["trigger.on-deployed"])
    assert deployed["oncePer"]  # once per commit, not at every resync
    secrets = [d for d in render(REPO_ROOT / "gitops" / "bootstrap") if d["kind"] == "ExternalSecret"]
    assert [s["spec"]["target"]["name"] for s in secrets] == ["argocd-notifications-secret"]
    assert [item["secretKey"] for item in secrets[0]["spec"]["data"]] == ["slack-token"]


def test_the_core_and_every_optional_app_are_subscribed():
    [subscription] = yaml.safe_load(_config()["subscriptions"])
    assert set(subscription["triggers"]) == set(TRIGGERS) and subscription["recipients"][0].startswith("slack:")
    layer_apps = [
        d
        for path in sorted((REPO_ROOT / "gitops" / "optional").glob("*/application.yaml"))
        for d in documents(path.read_text())
    ]
    layer_apps += [
        d for d in documents(kustomize(REPO_ROOT / "envs" / "prod" / "optional")) if d["kind"] == "Application"
    ]
    apps = [*core_applications(), *layer_apps]
    assert len(apps) > 8
    unsubscribed = [
        a["metadata"]["name"] for a in apps if not _selected(subscription["selector"], a["metadata"]["labels"])
    ]
    assert not unsubscribed
