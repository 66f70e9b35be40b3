"""The whole tree passes the project's linters and Dagster's own check of the code location."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_base.settings import REPO_ROOT

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False)


@pytest.mark.parametrize("command", [("check", "."), ("format", "--check", ".")], ids=["lint", "format"])
def test_ruff_passes_on_the_whole_tree(command):
    done = _run(str(BIN / "ruff"), *command)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dg_check_defs_loads_the_code_location():
    done = _run(str(BIN / "dg"), "check", "defs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
