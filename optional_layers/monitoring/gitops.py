"""The monitoring layer's cluster manifests generated from its own sources: the alert rules the
promtool tests check, as a PrometheusRule, and the Grafana dashboard, as a ConfigMap that
Grafana's sidecar loads."""

from __future__ import annotations

from pathlib import Path

from layer_api.gitops import HEADER
from layer_api.gitops import prometheus_rule as rule_manifest
from mlops_base.yaml_text import dump_yaml

HERE = Path(__file__).parent
RULES = HERE / "rules" / "mlops-alerts.yaml"
DASHBOARDS = HERE / "dashboards"
MANIFESTS = "gitops/optional/monitoring/manifests"


def prometheus_rule() -> str:
    return rule_manifest("mlops-alerts", RULES, str(RULES.relative_to(HERE.parents[1])))


def dashboards() -> str:
    data = {path.name: path.read_text() for path in sorted(DASHBOARDS.glob("*.json"))}
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "mlops-dashboards",
            "labels": {"app.kubernetes.io/part-of": "mlops-platform", "grafana_dashboard": "1"},
        },
        "data": data,
    }
    return HEADER.format(source=DASHBOARDS.relative_to(HERE.parents[1])) + dump_yaml(config_map)


def files() -> dict[str, str]:
    return {f"{MANIFESTS}/prometheusrule.yaml": prometheus_rule(), f"{MANIFESTS}/dashboards.yaml": dashboards()}
