"""`--help` and `--version` answer at once, anywhere on the command line, and install nothing:
the parser is built from the verbs' modules with the standard library only."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from mlops_base.settings import REPO_ROOT
from mlops_platform.cli import build_parser
from mlops_platform.verbs import VERBS

THIRD_PARTY = ("httpx", "pydantic", "dagster", "dagster_graphql", "mlflow", "yaml", "fastapi")


def test_the_parser_imports_only_the_standard_library():
    code = (
        "import sys; from mlops_platform.cli import build_parser; build_parser(); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {THIRD_PARTY!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert done.stdout.strip() == "[]"


def test_every_verb_has_one_module_with_its_help_arguments_and_run():
    parser = build_parser()
    for name, verb in VERBS.items():
        assert verb.HELP and callable(verb.arguments) and callable(verb.run), name
        assert parser.commands[name].description == verb.HELP


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["status", "--help"],
        ["--env", "dev", "rollback", "-h"],
        ["--version"],
        ["layers", "list", "--version"],
    ],
)
def test_the_script_answers_help_and_version_on_a_fresh_clone_without_installing(tmp_path, argv):
    """A copy of the launcher without .venv or lock file: were it to install, it would fail."""
    for name in ("mlops", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    for package in ("mlops_platform", "mlops_base"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    python = shutil.which("python3.11") or sys.executable
    done = subprocess.run(
        [str(tmp_path / "mlops"), *argv], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
        "PYTHON": python}, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ("usage: mlops" in done.stdout) or done.stdout.startswith("mlops 0.")
    assert not (tmp_path / ".venv").exists()
