"""pip-audit on what the project installs: the lock file (every group) and the Triton venv's locked
requirements. No known vulnerability, unless listed in AUDIT_EXCEPTIONS with why it does not apply
(and in docs/SECURITY.md).

pip-audit asks PyPI's JSON API for each pinned version. Where that service cannot answer (a mirror
without per-version pages, no network), the audit skips and says so, after a known-vulnerable
control package proves it cannot see vulnerabilities; it never passes on an audit that checked
nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_base.settings import REPO_ROOT

PIP_AUDIT = str(Path(sys.executable).parent / "pip-audit")
CONTROL = "jinja2==2.10\n"  # CVE-2019-10906 and others: an audit that works must report it
AUDIT_EXCEPTIONS: dict[str, str] = {}  # vulnerability id -> why it does not apply here


def _audit(requirements: Path) -> list[dict]:
    done = subprocess.run(
        [
            PIP_AUDIT,
            "-r",
            str(requirements),
            "--disable-pip",
            "--no-deps",
            "--progress-spinner",
            "off",
            "-f",
            "json",
            *(arg for vuln in AUDIT_EXCEPTIONS for arg in ("--ignore-vuln", vuln)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if not done.stdout.strip():
        pytest.fail(f"pip-audit produced no report: {done.stderr[-500:]}")
    return json.loads(done.stdout)["dependencies"]


@pytest.fixture(scope="module")
def service_works(tmp_path_factory) -> None:
    control = tmp_path_factory.mktemp("audit") / "control.txt"
    control.write_text(CONTROL)
    [jinja] = _audit(control)
    if not jinja.get("vulns"):
        pytest.skip(
            f"pip-audit cannot see vulnerabilities from here (control {CONTROL.strip()} came back "
            f"{jinja.get('skip_reason') or 'clean'}); CI with PyPI's JSON API runs it"
        )


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "requirements.txt"
    exported = subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--format",
            "requirements-txt",
            "--no-emit-project",
            "--all-groups",
            "--no-hashes",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    path.write_text(exported.stdout)
    return path


@pytest.mark.parametrize("name", ["uv.lock", "mlops_platform/triton_env/requirements.txt"])
def test_no_known_vulnerability_in_what_we_install(service_works, locked, name):
    requirements = locked if name == "uv.lock" else REPO_ROOT / name
    dependencies = _audit(requirements)
    skipped = [d["name"] for d in dependencies if "skip_reason" in d]
    assert len(skipped) < len(dependencies) / 10, f"pip-audit could not check {skipped}"
    found = {f"{d['name']}=={d['version']}": [v["id"] for v in d["vulns"]] for d in dependencies if d.get("vulns")}
    assert not found, f"known vulnerabilities (fix the pin, or list in AUDIT_EXCEPTIONS saying why): {found}"
