"""Back up and restore a local env's state: the MLflow registry (its SQLite store and artifacts),
Dagster's instance (runs, event log: the release history, asset values) and the evaluation store.

Consistent while the platform runs: each SQLite database is copied with SQLite's online backup API
(a snapshot of a committed state, the WAL included), every other file is one a writer finished
(artifacts, asset values, closed logs). A manifest lists each file's size and SHA-256 and the
versions that wrote them; a restore verifies every file against it before it touches anything,
refuses while the env's platform runs, and keeps the state it replaces beside it.

Envs on PostgreSQL and S3 (`prod-local`, `prod`) are not covered yet: say so, not half of it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from mlops_base.settings import Settings

MANIFEST = "manifest.json"
STORES = ("mlflow", "dagster", "evaluation")  # below the env's state dir
SQLITE = {".db", ".sqlite"}
TRANSIENT = ("-wal", "-shm", "-journal")  # in the copy of their database already


class BackupError(RuntimeError):
    """Nothing was backed up or restored; the message says why."""


@dataclass(frozen=True)
class Restored:
    files: int
    bytes: int
    kept: Path | None  # where the state the restore replaced now is (None: there was none)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _supported(settings: Settings) -> None:
    if settings.storage != "local":
        raise BackupError(
            f"env {settings.mlops_env!r} keeps its state in PostgreSQL and S3: its backup is not built yet "
            "(back up the databases with pg_dump and the bucket with your object store's tools)"
        )


def backup(settings: Settings, destination: Path) -> dict:
    """Copy the env's state into `destination` (new or empty), private to this user; its manifest."""
    _supported(settings)
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: a backup goes to a folder of its own")
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    destination.chmod(0o700)
    files = []
    for store in STORES:
        root = settings.state_dir / store
        for source in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(TRANSIENT)):
            relative = source.relative_to(settings.state_dir)
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if source.suffix in SQLITE:
                with closing(sqlite3.connect(source)) as db, closing(sqlite3.connect(target)) as copy:
                    db.backup(copy)
            else:
                shutil.copyfile(source, target)
            target.chmod(0o600)  # the registry, the runs and the prediction log: this user's only
            files.append({"path": str(relative), "bytes": target.stat().st_size, "sha256": _digest(target)})
    manifest = {
        "env": settings.mlops_env,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": {name: version(name) for name in ("mlops-platform", "dagster", "mlflow")},
        "files": files,
    }
    descriptor = os.open(destination / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(manifest, out, indent=1)
    return manifest


def verified(settings: Settings, source: Path) -> dict:
    """The backup's manifest, once every file it lists is there with its size and SHA-256."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} has no readable {MANIFEST}: {type(exc).__name__}") from exc
    if manifest.get("env") != settings.mlops_env:
        raise BackupError(f"{source} is a backup of env {manifest.get('env')!r}, not {settings.mlops_env!r}")
    for entry in manifest["files"]:
        path = source / entry["path"]
        if Path(entry["path"]).is_absolute() or ".." in Path(entry["path"]).parts:
            raise BackupError(f"{MANIFEST} names {entry['path']!r}, outside the backup")
        if not path.is_file() or path.stat().st_size != entry["bytes"] or _digest(path) != entry["sha256"]:
            raise BackupError(f"{entry['path']} is missing or differs from the manifest: nothing restored")
    return manifest


def restore(settings: Settings, source: Path, running: bool) -> Restored:
    """The backup's state in place of the env's (kept beside it), after verifying all of it."""
    _supported(settings)
    if running:
        raise BackupError(f"env {settings.mlops_env!r} is running: stop it (Ctrl-C in ./mlops up) first")
    manifest = verified(settings, source)
    state = settings.state_dir
    kept = state / f"before-restore-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    present = [store for store in STORES if (state / store).exists()]
    if present:
        kept.mkdir(parents=True, mode=0o700)
        for store in present:
            (state / store).rename(kept / store)
    for entry in manifest["files"]:
        target = state / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(source / entry["path"], target)
        target.chmod(0o600)
    return Restored(len(manifest["files"]), sum(e["bytes"] for e in manifest["files"]), kept if present else None)
