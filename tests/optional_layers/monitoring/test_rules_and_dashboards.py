"""Alert rules and dashboards checked with the real promtool (Debian `prometheus`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

import optional_layers.monitoring

LAYER = Path(optional_layers.monitoring.__file__).parent
RULES = LAYER / "rules"
DASHBOARDS = sorted((LAYER / "dashboards").glob("*.json"))


def _promtool(*args: str, cwd: Path = RULES) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.real  # the promtool binary, which the full tier installs
def test_rules_are_valid():
    result = _promtool("check", "rules", "mlops-alerts.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout


@pytest.mark.real
def test_rules_unit_tests_pass():
    result = _promtool("test", "rules", "mlops-alerts.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_required_alerts_exist():
    groups = yaml.safe_load((RULES / "mlops-alerts.yaml").read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    assert alerts == {
        "MlopsVariantErrorRateHigh",
        "MlopsLatencySLOBreached",
        "MlopsNoModelLoaded",
        "MlopsRollbackHappened",
        "MlopsPodCrashLooping",
        "MlopsAutoscalerAtMax",
        "MlopsRegistryUnreachable",
    }


def test_dashboards_have_unique_uids_and_panel_ids():
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert DASHBOARDS and len(uids) == len(set(uids))
    for path in DASHBOARDS:
        ids = [panel["id"] for panel in json.loads(path.read_text())["panels"]]
        assert len(ids) == len(set(ids)), path.name


@pytest.mark.real
def test_dashboard_queries_parse_with_promtool(tmp_path):
    exprs = [
        target["expr"]
        for path in DASHBOARDS
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]
    titles = {panel["title"] for path in DASHBOARDS for panel in json.loads(path.read_text())["panels"]}
    assert {
        "Traffic split (share of predictions per variant)",
        "Latency p50 / p99 per variant",
        "Error rate per variant (5xx)",
        "Hot-swap reloads",
        "Release timeline",
    } <= titles
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)]}
        ]
    }
    (tmp_path / "dashboard-queries.yaml").write_text(yaml.safe_dump(rules))
    result = _promtool("check", "rules", "dashboard-queries.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout
