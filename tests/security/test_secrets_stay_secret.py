"""No secret's value in any error or log line the platform's processes print at start, started or
refused: the launcher (`mlops status`), the code location (`dagster definitions validate`) and the
model server (uvicorn), each given every secret setting a recognisable value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import optional_layers.alerts
import optional_layers.evaluation.settings  # noqa: F401
from mlops_base.layer_settings import all_secret_names
from mlops_base.settings import REPO_ROOT, SettingsError, load_settings
from mlops_platform import processes
from tests.support import start_model_server

MARK = "s3cr3tv4lue"


def _secrets() -> dict[str, str]:
    """Every secret setting, each a value no other text has (valid where the setting checks its form)."""
    values = {}
    for name in sorted(all_secret_names()):
        tag = f"{MARK}{name.lower().replace('_', '')}"
        if "WEBHOOK" in name:
            values[name] = f"https://hooks.example/{tag}"
        elif name.endswith(("_URL", "_URI")):
            values[name] = f"postgresql://user:{tag}@127.0.0.1:1/db"
        else:
            values[name] = f"{tag}-0123456789abcdef"
    return values


SECRETS = _secrets()
BIN = Path(sys.executable).parent


def _clean(text: str) -> None:
    assert MARK not in text, [line for line in text.splitlines() if MARK in line][:3]


def _run(command: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> str:
    result = subprocess.run(
        command, cwd=cwd, env={**os.environ, **SECRETS, **env}, capture_output=True, text=True, timeout=240
    )
    return result.stdout + result.stderr


def test_the_secrets_cover_every_secret_setting():
    assert {
        "RELOAD_SECRET_TOKEN",
        "FEEDBACK_TOKEN",
        "PREDICT_TOKEN",
        "TRITON_ADMIN_KEY",
        "AWS_SECRET_ACCESS_KEY",
    } <= set(SECRETS)


@pytest.mark.parametrize(
    "invalid",
    [
        {"max_rows": 0},  # a field
        {"storage": "postgres-s3", "s3_bucket": ""},  # a check of the whole model: its input is every setting
        {"task": "regression"},
    ],
)
def test_a_settings_error_names_the_field_never_a_secret(invalid, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings("dev", **invalid)
    _clean(str(refused.value))


@pytest.mark.real
def test_the_launcher_and_the_code_location_print_no_secret_started_or_refused(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    state = {"MLOPS_STATE_DIR": str(tmp_path / "state"), "DAGSTER_HOME": str(tmp_path)}
    for broken in ({}, {"MAX_ROWS": "0"}, {"STORAGE": "postgres-s3", "S3_BUCKET": ""}):
        _clean(_run([str(BIN / "mlops"), "status"], {**state, **broken}))
        _clean(_run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], {**state, **broken}))


@pytest.mark.real
def test_the_model_server_prints_no_secret_started_or_refused(mlflow_server, shared_model, tmp_path):
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": shared_model.name, **SECRETS}
    server = start_model_server(tmp_path, env)
    try:
        processes.stop(server)
    finally:
        _clean(server.log_path.read_text())
    refused = _run(
        [str(BIN / "uvicorn"), "--factory", "serving.main:create_app", "--port", str(processes.free_port())],
        {**env, "MLOPS_STATE_DIR": str(tmp_path / "refused"), "MAX_ROWS": "0"},
    )
    assert "error: " in refused and "MAX_ROWS='0'" in refused, refused
    _clean(refused)
