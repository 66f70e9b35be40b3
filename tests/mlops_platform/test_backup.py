"""Backup and restore of a local env for real: an MLflow server on the env's own store (as `./mlops
up` runs it), Dagster's instance in the env's state dir, two versions trained and released by the
platform. Backed up while MLflow runs (`./mlops backup`), the state wiped, restored (`./mlops
restore`), MLflow started again: the alias serves the same version, every release shows in the
history, a rollback to the version registered before the backup works. A restore refuses a backup
whose file changed, one of another env, and a running platform, and touches nothing then; prod-like
envs are refused as not covered yet."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid

import pytest
from dagster import DagsterInstance

from core_assets.definitions import build_definitions
from core_assets.release.history import alias_moves
from core_assets.release.levers import rollback_run_config
from mlops_base.aliases import Alias
from mlops_base.registry_rest import RegistryClient
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import processes
from mlops_platform.backup import BackupError, restore
from mlops_platform.stack import dagster_home
from tests.core_assets.runs import release, run_job

pytestmark = pytest.mark.real


def _settings(state, port: int, name: str):
    return load_settings(
        "dev", mlflow_tracking_uri=f"http://127.0.0.1:{port}", model_name=name, mlops_state_dir=state, serving_url=""
    )


def _mlops(*args: str, state, caller) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "MLOPS_ENV": "dev", "MLOPS_STATE_DIR": str(state), "MLOPS_CALLER_DIR": str(caller)}
    command = [sys.executable, "-m", "mlops_platform.cli", *args]
    return subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)


def _history(settings) -> list[tuple[str | None, str | None]]:
    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        return [(m.before_version, m.after_version) for m in alias_moves(instance, alias=Alias.B)]


def test_a_backup_taken_while_running_restores_the_registry_and_the_release_history(tmp_path):
    state, name, port = tmp_path / "state", f"backup-{uuid.uuid4().hex[:8]}", processes.free_port()
    settings = _settings(state, port, name)
    mlflow = processes.start_mlflow(state, port)
    try:
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            defs = build_definitions(settings)
            release(defs, instance)  # v1 on B
            release(defs, instance)  # v2 on B
        history = _history(settings)
        assert history == [("1", "2"), (None, "1")]  # newest first
        done = _mlops("backup", "--to", "saved", state=state, caller=tmp_path)  # MLflow still running
        assert done.returncode == 0, done.stderr
        assert (
            "backed up env dev: " in done.stdout
            and (tmp_path / "saved" / "manifest.json").stat().st_mode & 0o777 == 0o600
        )
    finally:
        processes.stop(mlflow)

    for store in ("mlflow", "dagster", "evaluation"):
        shutil.rmtree(state / store, ignore_errors=True)
    restored = _mlops("restore", "saved", state=state, caller=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert "restored env dev: " in restored.stdout

    port = processes.free_port()
    settings = _settings(state, port, name)
    mlflow = processes.start_mlflow(state, port)
    try:
        with RegistryClient(settings.mlflow_tracking_uri) as client:
            assert client.aliases(name) == {"B": "2"}
        assert _history(settings) == history
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            back = run_job(
                build_definitions(settings), instance, "rollback_job", rollback_run_config(Alias.B, "1", "test")
            )
        assert back.success
        with RegistryClient(settings.mlflow_tracking_uri) as client:
            assert client.aliases(name) == {"B": "1"}
        assert _history(settings)[0] == ("2", "1")
    finally:
        processes.stop(mlflow)


def test_a_restore_refuses_a_changed_file_another_env_and_a_running_platform(tmp_path):
    state = tmp_path / "state"
    (state / "evaluation").mkdir(parents=True)
    (state / "evaluation" / "outcomes.sqlite").write_bytes(b"")
    settings = load_settings("dev", mlops_state_dir=state)
    assert _mlops("backup", "--to", "saved", state=state, caller=tmp_path).returncode == 0
    manifest = json.loads((tmp_path / "saved" / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == ["evaluation/outcomes.sqlite"]

    with pytest.raises(BackupError, match="is running: stop it"):
        restore(settings, tmp_path / "saved", running=True)
    with pytest.raises(BackupError, match="is a backup of env 'dev', not 'churn-pipeline'"):
        restore(load_settings("churn-pipeline", mlops_state_dir=state), tmp_path / "saved", running=False)
    with pytest.raises(BackupError, match="keeps its state in PostgreSQL and S3: its backup is not built yet"):
        restore(load_settings("prod-local", mlops_state_dir=state), tmp_path / "saved", running=False)
    (tmp_path / "saved" / "evaluation" / "outcomes.sqlite").write_bytes(b"tampered")
    refused = _mlops("restore", "saved", state=state, caller=tmp_path)
    assert refused.returncode == 2
    assert "evaluation/outcomes.sqlite is missing or differs from the manifest: nothing restored" in refused.stderr
    assert (state / "evaluation" / "outcomes.sqlite").read_bytes() == b""  # untouched
