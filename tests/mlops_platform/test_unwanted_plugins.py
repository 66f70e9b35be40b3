"""The install step drops Feast's MLflow header plugin, and only that group of entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from mlops_platform.unwanted_plugins import drop

FAKE_ENTRY_POINTS = """\
[console_scripts]
fake = fake.cli:Main

[mlflow.request_header_provider]
fake = fake.auth:Provider
"""


def _fake_distribution(root: Path) -> Path:
    info = root / "fake-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(FAKE_ENTRY_POINTS)
    (info / "RECORD").write_text("fake-1.0.dist-info/METADATA,,\nfake-1.0.dist-info/entry_points.txt,,\n")
    return info


def test_drop_removes_the_group_and_keeps_the_rest(tmp_path, monkeypatch):
    info = _fake_distribution(tmp_path)
    cached = tmp_path / "cache-entry_points.txt"
    os.link(info / "entry_points.txt", cached)  # uv hard-links installed files to its cache
    monkeypatch.syspath_prepend(str(tmp_path))
    assert drop("fake", "mlflow.request_header_provider")
    assert cached.read_text() == FAKE_ENTRY_POINTS  # the cache (and other venvs) untouched
    text = (info / "entry_points.txt").read_text()
    assert "mlflow.request_header_provider" not in text
    assert "fake = fake.cli:Main" in text  # names keep their case
    assert not drop("fake", "mlflow.request_header_provider")  # a second install step finds nothing
    assert not drop("no-such-distribution", "mlflow.request_header_provider")


def test_the_installed_environment_has_no_feast_header_provider():
    """`./mlops` ran the step on this venv: MLflow's first REST call imports no Feast."""
    assert not [ep for ep in entry_points(group="mlflow.request_header_provider") if ep.value.startswith("feast")]
    probe = (
        "import sys, mlflow.tracking.request_header.registry as r; "
        "r.resolve_request_headers(); print('feast' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
