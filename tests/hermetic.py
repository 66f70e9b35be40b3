"""What keeps the suite hermetic: tests start from an environment without the user's settings,
webhooks or credentials, and a test that writes outside its temporary directories fails.

The guard is a `sys.addaudithook` on `open` for writing: it sees every file this process opens to
write (processes a test starts get state dirs of the test's own, given on their command line).
It records rather than raises, so a library caught writing is named by the test, not broken mid-way.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

# the user's settings and secrets: the platform's and its layers' variables, clouds', webhooks'
_AMBIENT = re.compile(
    r"^(MLOPS_|MLFLOW_TRACKING_|MLFLOW_S3_|AWS_|DAGSTER_HOME$|OTEL_|SLACK_|PUSHGATEWAY_|TRITON_|SERVING_|"
    r"FEAST_|LOKI_|EVALUATION_|FEEDBACK_|PREDICT_|RELOAD_|POSTGRES_|PG)|(TOKEN|SECRET|PASSWORD|WEBHOOK)",
    re.IGNORECASE,
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def scrub_environment(environ: MutableMapping[str, str]) -> list[str]:
    """Remove what the user's shell set for the platform; returns the names removed."""
    removed = sorted(name for name in environ if _AMBIENT.search(name))
    for name in removed:
        del environ[name]
    return removed


class WriteGuard:
    """Records files opened for writing outside the allowed roots (pytest's base temp dir, the
    system temp dir, /dev)."""

    def __init__(self, *roots: Path):
        self.roots = tuple(str(Path(r).resolve()) for r in (*roots, tempfile.gettempdir(), "/dev", "/proc"))
        self.violations: list[str] = []

    def install(self) -> None:
        sys.addaudithook(self._audit)

    def allowed(self, path: str) -> bool:
        resolved = os.path.realpath(path)
        return resolved.startswith(self.roots) or resolved.endswith(".pyc")

    def _audit(self, event: str, args: tuple) -> None:
        if event != "open" or not args or not isinstance(args[0], str | bytes | os.PathLike):
            return
        path, mode, flags = args[0], args[1], args[2]
        writing = (mode is not None and any(c in mode for c in "wax+")) or (mode is None and flags & _WRITE_FLAGS)
        if writing:
            path = os.fsdecode(path)
            if not self.allowed(path):
                self.violations.append(path)


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Files under `root` (but `skip`'s subtrees) and their modification times."""
    if not root.is_dir():
        return {}
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not relative.startswith(skip):
            found[relative] = path.stat().st_mtime_ns
    return found


def changed(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def not_the_suites(state: Path) -> tuple[str, ...]:
    """What under the repository's `.mlops/` others write while the suite runs: the Triton venv
    (`./mlops test` installs it), the bench's runs, and the state of an env whose local platform
    runs (`./mlops up` records itself in `<env>/platform.json`)."""
    running = tuple(f"{record.parent.name}/" for record in state.glob("*/platform.json"))
    return ("triton/venv", "bench/", *running)
