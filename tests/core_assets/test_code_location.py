"""The code location named by workspace.yaml loads, with the four assets, the gate and three jobs,
and without the data and model libraries (numpy, pandas, scikit-learn, MLflow's tracking client):
the webserver, the daemon and every run load it, and a run imports them only in the steps that need
them (a release's commit -> served time counts every import)."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey

from core_assets.definitions import build_definitions
from mlops_base.settings import REPO_ROOT, SettingsError, load_settings
from tests.support import toggle

CORE_ASSETS = ["features", "trained_model", "registered_model_version", "served_alias"]


def _workspace_module() -> str:
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    [location] = workspace["load_from"]
    return location["python_module"]["module_name"]


@pytest.mark.real  # `dagster definitions validate` in its own process
def test_workspace_code_location_validates(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
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
    checks = {(key.asset_key, key.name): graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert set(checks) == {
        (AssetKey("trained_model"), "quality_gate"),
        (AssetKey("registered_model_version"), "replay_gate"),
        (AssetKey("served_alias"), "serving_matches_alias"),
    }
    assert all(spec.blocking for spec in checks.values())

    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"train_job", "deploy_job", "rollback_job", "promote_job"} <= jobs
    for lever in ("deploy_job", "rollback_job", "promote_job"):  # every alias move is served_alias
        assert defs.resolve_job_def(lever).asset_layer.executable_asset_keys == {AssetKey("served_alias")}


def test_the_monitoring_layer_is_merged_into_the_code_location_only_when_on(settings, tmp_path):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    toggle(envs / "dev", "off", "monitoring")
    assert "slo_rollback_sensor" not in _sensors(
        build_definitions(settings.model_copy(update={"mlops_envs_dir": envs}))
    )

    toggle(envs / "dev", "on", "monitoring")
    defs = build_definitions(settings.model_copy(update={"mlops_envs_dir": envs}))
    assert "slo_rollback_sensor" in _sensors(defs)
    assert "slo" in defs.resources


def _sensors(defs) -> set[str]:
    return {sensor.name for sensor in defs.sensors}


def test_a_prod_code_location_without_its_storage_secrets_refuses_to_load(monkeypatch):
    for name in ("DAGSTER_PG_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLOPS_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError, match="refuses to start dagster: missing secret\\(s\\) DAGSTER_PG_URL"):
        build_definitions(load_settings("prod", reload_secret_token="t" * 32))


def test_prod_stores_asset_values_in_s3_and_runs_train_job_steps_in_their_own_pods(monkeypatch):
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql+psycopg2://dagster:pw@db/dagster")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    defs = build_definitions(load_settings("prod", reload_secret_token="t" * 32))

    io_manager = defs.resources["io_manager"]
    assert (type(io_manager).__name__, io_manager.s3_bucket, io_manager.s3_prefix) == (
        "S3AssetIOManager",
        "mlops-prod",
        "dagster",
    )
    assert defs.resolve_job_def("train_job").executor_def.name == "k8s"
    assert defs.resolve_job_def("deploy_job").executor_def.name == "in_process"
    assert defs.resolve_sensor_def("new_data_sensor").job.executor_def.name == "k8s"  # one train_job, not two


def test_k8s_executor_jobs_must_name_existing_jobs():
    with pytest.raises(SettingsError, match="K8S_EXECUTOR_JOBS names unknown job\\(s\\) trian_job"):
        build_definitions(load_settings("dev", k8s_executor_jobs="trian_job"))


HEAVY = ("numpy", "pandas", "sklearn", "mlflow.tracking")


def test_the_code_location_loads_none_of_the_heavy_libraries():
    load = f"import sys, core_assets.definitions; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
