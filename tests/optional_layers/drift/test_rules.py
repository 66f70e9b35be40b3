"""The drift layer's alert rule checked and unit-tested with the real promtool (Debian
`prometheus`), and the PrometheusRule its Argo CD app deploys is that file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

import optional_layers.drift
from mlops_base.settings import REPO_ROOT

RULES = Path(optional_layers.drift.__file__).parent / "rules"


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=RULES, capture_output=True, text=True, timeout=120)


@pytest.mark.real  # the promtool binary, which the full tier installs
def test_the_rule_is_valid_and_its_unit_tests_pass():
    checked = _promtool("check", "rules", "drift-alerts.yaml")
    assert checked.returncode == 0 and "SUCCESS: 1 rules found" in checked.stdout, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", "drift-alerts.test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_apps_prometheus_rule_is_the_tested_file():
    deployed = yaml.safe_load((REPO_ROOT / "gitops/optional/drift/manifests/prometheusrule.yaml").read_text())
    assert deployed["kind"] == "PrometheusRule"
    assert deployed["spec"]["groups"] == yaml.safe_load((RULES / "drift-alerts.yaml").read_text())["groups"]
