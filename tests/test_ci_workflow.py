"""The GitHub Actions workflow, validated offline: against the schema of GitHub's workflow syntax
(SchemaStore's, vendored by check-jsonschema: a typo'd key or a wrong type fails), and for what it
must do: every pull request runs ruff, the import contracts, `dg check defs`, the GitOps offline
validation and the fast tier; main and a nightly schedule run the whole suite through .ci/run
within CI's 90 minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from mlops_base.settings import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def _validate(path: Path) -> subprocess.CompletedProcess:
    command = [str(CHECK), "--builtin-schema", "vendor.github-workflows", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_the_workflow_follows_github_s_workflow_syntax(tmp_path):
    assert _validate(WORKFLOW).returncode == 0, _validate(WORKFLOW).stdout
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("timeout-minutes: 30", "timeout-minutes: soon", 1))
    assert _validate(broken).returncode != 0  # the check can fail


def test_pull_requests_get_the_checks_and_main_and_nightly_the_whole_suite():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert {"pull_request", "push", "schedule"} <= set(triggers) and triggers["push"]["branches"] == ["main"]
    checks, suite = workflow["jobs"]["checks"], workflow["jobs"]["suite"]
    assert "if" not in checks  # every event, pull requests included
    ran = " ".join(step.get("run", "") for step in checks["steps"])
    for command in ("ruff check", "ruff format --check", "lint-imports", "dg check defs", "tests/gitops"):
        assert command in ran, command
    assert "./mlops test --fast < /dev/null" in ran  # the whole fast tier
    assert suite["if"] == "github.event_name != 'pull_request'" and suite["timeout-minutes"] <= 90
    assert [step["run"] for step in suite["steps"] if "run" in step] == [".ci/run < /dev/null"]
    assert workflow["env"]["CI"] == "true" and workflow["permissions"] == {"contents": "read"}
