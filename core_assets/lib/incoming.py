"""New data dropped into the env's incoming folder: find settled files, archive them once ingested."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# a file still being written is not picked up: it must be unchanged for this long
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class IncomingFile:
    path: Path
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        """Identity of this exact file content drop: a re-dropped (fixed) file gets a new key."""
        return f"{self.path.name}-{self.size}-{self.mtime_ns}"


def incoming_dir(state_dir: Path) -> Path:
    return state_dir / "incoming"


def processed_dir(state_dir: Path) -> Path:
    return state_dir / "processed"


# the dataset files the new-data sensor picks up (the formats `features` reads)
SUFFIXES = (".csv", ".parquet", ".pq")


def settled_files(folder: Path, now: float | None = None) -> list[IncomingFile]:
    """Dataset files in `folder` not modified for SETTLE_SECONDS, oldest first."""
    now = time.time() if now is None else now
    found = []
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []
    for path in paths:
        stat = path.stat()
        if now - stat.st_mtime >= SETTLE_SECONDS:
            found.append(IncomingFile(path, stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda f: f.mtime_ns)


def archive(path: Path, processed: Path) -> Path:
    """Move an ingested file to the processed folder, atomically (same filesystem rename)."""
    processed.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = processed / f"{stamp}-{path.name}"
    os.replace(path, target)
    return target
