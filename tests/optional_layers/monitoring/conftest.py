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
from mlops_platform import processes

RULES = REPO_ROOT / "optional_layers" / "monitoring" / "rules" / "mlops-alerts.yaml"


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
        "layers": {"evaluation": False, "feast": False, "logging": False, "monitoring": True},
    }
    return env


def start_prometheus(tmp_path: Path, server_url: str, pushgateway_url: str | None = None) -> processes.Service:
    """A real Prometheus (Debian `prometheus`) with the layer's rules, scraping the model server
    (and the Pushgateway) every second."""
    port = processes.free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "serving", "static_configs": [{"targets": [server_url.removeprefix("http://")]}]},
        ],
    }
    if pushgateway_url:  # the runs' own labels (job, env) win over the scrape's
        config["scrape_configs"].append(
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway_url.removeprefix("http://")]}],
            }
        )
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    return processes.start_ready(
        "prometheus",
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        tmp_path / "prometheus.log",
        f"http://127.0.0.1:{port}",
        "/-/ready",
    )
