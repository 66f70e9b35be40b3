"""The monitoring layer's real components: the env tree with the layer on, and a Prometheus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_base.settings import REPO_ROOT
from mlops_platform import alerting, processes


@pytest.fixture
def envs_with_monitoring(tmp_path):
    """A copy of the env tree with the monitoring layer on, toggled by the real toggle script."""
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    env = {"MLOPS_ENVS_DIR": str(envs)}
    subprocess.run(
        [str(Path(sys.executable).parent / "mlops"), "layers", "on", "monitoring"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    assert yaml.safe_load((envs / "dev" / "layers.yaml").read_text()) == {
        "attached": True,
        "layers": {"drift": False, "evaluation": False, "feast": False, "logging": False, "monitoring": True},
    }
    return env


def start_prometheus(tmp_path: Path, server_url: str, pushgateway_url: str | None = None) -> processes.Service:
    """The launcher's Prometheus (Debian `prometheus`, the layer's rules), scraping the model server
    (and the Pushgateway, keeping the runs' own labels) every second; no Alertmanager."""
    targets = {"serving": [server_url], **({"pushgateway": [pushgateway_url]} if pushgateway_url else {})}
    return alerting.start_prometheus(tmp_path, targets, None, "1s")
