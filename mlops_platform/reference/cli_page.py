"""docs/reference/cli.md: every command's help, as `mlops <command> --help` prints it."""

from __future__ import annotations

import os
import subprocess
import sys

from mlops_base.settings import REPO_ROOT
from mlops_platform.cli import build_parser

WIDTH = "100"  # argparse wraps help to $COLUMNS: fixed, so the page is the same on every terminal
SEPARATE_PROGRAMS = {"demo": "demo", "bench": "bench"}  # their own packages, their own parsers


def _help_of_module(module: str) -> str:
    env = {**os.environ, "COLUMNS": WIDTH}
    command = [sys.executable, "-m", module, "--help"]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True).stdout


def page() -> str:
    before, os.environ["COLUMNS"] = os.environ.get("COLUMNS"), WIDTH
    try:
        parser = build_parser()
        sections = [("mlops", parser.format_help())]
        sections += [(f"mlops {name}", command.format_help()) for name, command in parser.commands.items()]
    finally:  # left as found
        if before is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = before
    sections += [(f"mlops {name}", _help_of_module(module)) for name, module in SEPARATE_PROGRAMS.items()]
    lines = [
        "# CLI",
        "",
        "Generated from the commands' parsers by `python -m mlops_platform.reference`; a test fails when",
        "this page is stale. `./mlops` installs what the project needs, then runs `mlops` (in `.venv`);",
        "`test` and `bench` run in the script itself. `--env` goes before or after the command.",
        "",
        "`mlops test` takes pytest's arguments after its own (`./mlops test --fast -k traffic`).",
        "",
    ]
    for title, text in sections:
        lines += [f"## `{title}`", "", "```", text.rstrip(), "```", ""]
    return "\n".join(lines)
