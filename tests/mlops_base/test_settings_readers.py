"""Who reads which setting is said once, on the concern classes (`READ_BY`, `ReadBy`), and checked
against the code: every `settings.<field>` a process's package reads must name that process."""

from __future__ import annotations

import re

import pytest

from mlops_base.env_settings import readers
from mlops_base.settings import REPO_ROOT, Settings

# the packages each process runs (the launcher also runs the others' code in-process: not counted)
PACKAGES = {"serving": ["serving"], "dagster": ["core_assets"], "launcher": ["mlops_platform"]}
READ = re.compile(r"\bsettings\.([a-z_][a-z0-9_]*)\b")


def _read_by_package(package: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        for name in READ.findall(path.read_text()):
            if name in Settings.model_fields:
                found.setdefault(name, []).append(str(path.relative_to(REPO_ROOT)))
    return found


@pytest.mark.parametrize("process", sorted(PACKAGES))
def test_every_setting_a_process_reads_names_it_among_its_readers(process):
    wrong = {
        name: sorted(set(paths))
        for package in PACKAGES[process]
        for name, paths in _read_by_package(package).items()
        if process not in readers(Settings, name)
    }
    assert wrong == {}, f"read by {process} but not marked so (READ_BY or ReadBy in mlops_base/settings_concerns.py)"
