"""How verbs print: for people on stdout, one line on stderr for a problem (never a traceback)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def error(message: str, code: int = 2) -> int:
    """`error: ...` on stderr; the exit code (2: the command could not run)."""
    print(f"error: {message}", file=sys.stderr)
    return code


def printed(text: str, problems: list[str]) -> int:
    """A report for people, its problems on stderr: exit 1 when it found any."""
    print(text)
    return error("; ".join(problems), 1) if problems else 0


def user_path(name: str) -> Path:
    """A file the user named, relative to where they ran `./mlops` (the script runs from the repo)."""
    return Path(os.environ.get("MLOPS_CALLER_DIR", ".")) / name
