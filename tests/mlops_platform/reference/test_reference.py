"""docs/reference/ is what the code generates now: a setting, command, flag, route, metric, event
or hook added, removed or changed without regenerating (`python -m mlops_platform.reference`)
fails here."""

from __future__ import annotations

import pytest

from mlops_platform.reference import DOCS, pages
from mlops_platform.reference.settings_page import READERS, all_settings

# cli.md runs `python -m bench --help` and `python -m demo --help`, http.md builds the model server's
# app with every layer on: each in processes of their own
OWN_PROCESSES = {"cli.md", "http.md"}
PAGES = [pytest.param(name, marks=pytest.mark.real) if name in OWN_PROCESSES else name for name in pages()]


@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_current(name):
    path = DOCS / name
    assert path.is_file(), f"{path} is missing: run python -m mlops_platform.reference"
    assert path.read_text() == pages()[name](), f"{path} is stale: run python -m mlops_platform.reference"


def test_every_setting_says_which_processes_read_it():
    settings = set(all_settings())
    assert settings - set(READERS) == set(), "add the new settings to READERS in settings_page.py"
    assert set(READERS) - settings == set(), "READERS names settings that no longer exist"
