"""The code location named by workspace.yaml loads, with the four assets, the gate and three jobs."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import yaml
from dagster import AssetKey

from mlops_base.settings import REPO_ROOT

CORE_ASSETS = ["features", "trained_model", "registered_model_version", "served_alias"]


def _workspace_module() -> str:
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    [location] = workspace["load_from"]
    return location["python_module"]["module_name"]


def test_workspace_code_location_validates(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful for code location core" in result.stdout + result.stderr


def test_workspace_code_location_has_the_core_graph():
    defs = importlib.import_module(_workspace_module()).defs
    graph = defs.resolve_asset_graph()

    for name in CORE_ASSETS:
        node = graph.get(AssetKey(name))
        assert node.group_name == "core"
        assert node.description, f"{name} has no docstring"
    [check_key] = graph.asset_check_keys
    assert (check_key.asset_key, check_key.name) == (AssetKey("trained_model"), "accuracy_gate")
    assert graph.get_check_spec(check_key).blocking

    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"train_job", "deploy_job", "rollback_job"} <= jobs
    assert defs.resolve_job_def("deploy_job").asset_layer.executable_asset_keys == {AssetKey("served_alias")}
