"""`mlops logs` and `mlops reset`: the env's files under its state dir (`.mlops/<env>/` by default)."""

from __future__ import annotations

import shutil
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from mlops_base.settings import Settings


class NotFound(LookupError):
    pass


def log_files(settings: Settings) -> dict[str, Path]:
    """Service name -> its log, as `up` writes them (the alerting stack's in `logs/alerting/`)."""
    root = settings.state_dir / "logs"
    return {path.stem: path for path in sorted(root.rglob("*.log"))} if root.is_dir() else {}


def tail(path: Path, lines: int) -> list[str]:
    with path.open(errors="replace") as handle:
        return list(deque(handle, maxlen=lines))


def show_logs(
    settings: Settings, service: str | None, lines: int, follow: bool, write: Callable[[str], object] = sys.stdout.write
) -> None:
    """The last `lines` of one service's log, or of each with a header; `follow`: then what is appended."""
    files = log_files(settings)
    if not files:
        raise NotFound(f"no logs under {settings.state_dir / 'logs'}: the env has not been started (./mlops up)")
    if service is not None and service not in files:
        raise NotFound(f"no log for {service!r}; logs: {', '.join(files)}")
    chosen = {service: files[service]} if service else files
    for name, path in chosen.items():
        if len(chosen) > 1:
            write(f"==> {name} ({path.name}) <==\n")
        write("".join(tail(path, lines)))
    if not follow:
        return
    offsets = {name: path.stat().st_size for name, path in chosen.items()}
    while True:  # until Ctrl-C
        for name, path in chosen.items():
            with path.open(errors="replace") as handle:
                handle.seek(offsets[name] if path.stat().st_size >= offsets[name] else 0)  # truncated: from the start
                new = handle.read()
                offsets[name] = handle.tell()
            if new:
                write("".join(f"{name} | {line}\n" if len(chosen) > 1 else f"{line}\n" for line in new.splitlines()))
        sys.stdout.flush()
        time.sleep(0.5)


def reset(settings: Settings) -> Path:
    """Delete the env's state (registry, artifacts, Dagster runs, logs, incoming data); the env's
    files under envs/ stay. The caller confirms and checks that nothing runs on it."""
    state = settings.state_dir.resolve()
    if state == Path(state.anchor) or state == Path.home().resolve():
        raise NotFound(f"refusing to delete {state}: MLOPS_STATE_DIR points at a root or home directory")
    shutil.rmtree(state, ignore_errors=False)
    return state
