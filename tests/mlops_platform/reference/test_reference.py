"""docs/reference/ is what the code generates now: a setting, command, flag, route, metric, event
or hook added, removed or changed without regenerating (`python -m mlops_platform.reference`)
fails here."""

from __future__ import annotations

import pytest

from mlops_base.env_settings import readers
from mlops_platform.reference import DOCS, pages
from mlops_platform.reference.settings_page import all_settings

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
    """From its class's READ_BY or its own ReadBy mark: a setting that says neither fails here."""
    for name, model in all_settings().items():
        assert readers(model, name), name


def test_a_setting_without_readers_is_named():
    from typing import ClassVar

    from mlops_base.env_settings import EnvSettings

    class Orphan(EnvSettings):
        orphan_setting: str = ""

    class Owned(EnvSettings):
        READ_BY: ClassVar[tuple] = ("serving",)
        owned_setting: str = ""

    class Composed(Owned, Orphan):
        pass

    assert readers(Composed, "owned_setting") == ("serving",)
    with pytest.raises(LookupError, match="Composed.orphan_setting says no process reads it"):
        readers(Composed, "orphan_setting")
