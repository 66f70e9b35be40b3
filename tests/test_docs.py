"""The README, CONTRIBUTING.md and docs/ name only what exists: each `./mlops` command and flag
they show is in the CLI, each UPPER_CASE name is a setting or appears in the code, and each
relative link leads to a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_base.settings import REPO_ROOT
from mlops_platform.reference.settings_page import all_settings

PAGES = [
    REPO_ROOT / "README.md",
    REPO_ROOT / "CONTRIBUTING.md",
    *sorted(p for p in (REPO_ROOT / "docs").rglob("*.md") if "reference" not in p.parts),
]
CLI_PAGE = REPO_ROOT / "docs" / "reference" / "cli.md"  # generated from the parsers, and checked current
CODE = [
    "mlops",
    "mlops_base",
    "layer_api",
    "core_assets",
    "serving",
    "serving_client",
    "optional_layers",
    "mlops_platform",
]
CODE += ["gitops", "envs", "bench", "demo", "tests"]
LIBRARY_VARIABLES = ("OTEL_",)  # OpenTelemetry's own environment variables, read by its SDK
INVOCATION = re.compile(r"\./mlops((?:[ \t]+[^\s`|;&)\\]+)*)")


def _ids(pages: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO_ROOT)) for p in pages]


def _helps() -> dict[str, str]:
    """command -> its help text, from the generated CLI reference."""
    sections = re.split(r"^## `mlops ?([a-z-]*)`$", CLI_PAGE.read_text(), flags=re.M)
    return {name or "": text for name, text in zip(sections[1::2], sections[2::2], strict=True)}


def invocations(text: str) -> list[tuple[str, list[str]]]:
    """(command, flags) of each `./mlops ...` in a text; the command is '' for `./mlops` alone."""
    found = []
    for match in INVOCATION.finditer(text):
        words = match.group(1).split()
        words = words[: next((i for i, w in enumerate(words) if w.startswith("#")), len(words))]
        command, flags, skip = "", [], False
        for word in words:
            if skip:
                skip = False
            elif word == "--env":
                skip = True
            elif word.startswith("--"):
                flags.append(word.split("=")[0])
            elif not command and not word.startswith("-") and re.fullmatch(r"[a-z][a-z-]*", word):
                command = word
            elif not command:
                break
        found.append((command, flags))
    return found


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_mlops_command_and_flag_shown_exists(page):
    helps = _helps()
    wrong = []
    for command, flags in invocations(page.read_text()):
        if command not in helps:
            wrong.append(f"./mlops {command}: no such command")
            continue
        wrong += [f"./mlops {command} {flag}: no such flag" for flag in flags if flag not in helps[command]]
    assert wrong == []


def _code_text() -> str:
    files = [REPO_ROOT / "mlops"]
    for folder in CODE[1:]:
        files += [p for p in (REPO_ROOT / folder).rglob("*") if p.suffix in {".py", ".yaml", ".env", ".sh"}]
    return "\n".join(p.read_text(errors="replace") for p in files if p.is_file())


@pytest.fixture(scope="module")
def code_text() -> str:
    return _code_text()


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_setting_name_shown_exists(page, code_text):
    settings = {name.upper() for name in all_settings()}
    names = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", page.read_text()))
    unknown = [name for name in names - settings if name not in code_text and not name.startswith(LIBRARY_VARIABLES)]
    assert sorted(unknown) == []


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_relative_link_leads_to_a_file(page):
    links = [m.group(1).split("#")[0] for m in re.finditer(r"\]\(([^)\s]+)\)", page.read_text())]
    assert [link for link in links if link and ":" not in link and not (page.parent / link).exists()] == []


def test_the_parser_of_invocations():
    text = "`./mlops --env prod-local up --replicas 3` and ./mlops rollback --to 2 # a comment --bogus"
    assert invocations(text) == [("up", ["--replicas"]), ("rollback", ["--to"])]
    assert invocations("run `./mlops` alone") == [("", [])]
    assert "up" in _helps() and "--fast" in _helps()["test"]
