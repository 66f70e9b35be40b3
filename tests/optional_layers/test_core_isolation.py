"""With every layer off, the core loads no layer module and none of the layers' libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlops_base.settings import REPO_ROOT

LAYER_MODULES = (
    "optional_layers.monitoring",
    "optional_layers.feast",
    "optional_layers.loki",
    "prometheus_client",
    "feast",
    "logging_loki",
)

FRESH_INTERPRETER = """
import sys
from layer_api import manager
from layer_api.state import LayerState
manager.read_state = lambda env: LayerState(attached=False)   # every layer off, whatever envs/ says
import core_assets.definitions
from serving.main import create_app
from mlops_base.settings import load_settings
create_app(load_settings("dev", mlflow_tracking_uri="http://127.0.0.1:9"))
print(sorted(m for m in sys.modules if m.startswith({modules!r})))
"""


def test_core_and_serving_import_no_layer_when_all_are_off():
    result = subprocess.run(
        [sys.executable, "-c", FRESH_INTERPRETER.format(modules=LAYER_MODULES)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_import_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout, result.stdout
