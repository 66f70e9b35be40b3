"""Reload the code location when the env's files change: a merged commit (training parameters,
layers, settings) reaches the automation without anyone clicking Reload in the UI.

The code location reads its env's files when it loads; `dagster dev` does not watch them. The
launcher does: a thread compares the files' sizes and modification times every tenth of a second and,
once they stop changing, reloads the location through the webserver, as the Reload button does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

POLL_S = 0.1  # a look costs ~0.25 ms (an env is a dozen files): 0.25% of a core for a commit seen ~0.2 s sooner

Fingerprint = frozenset[tuple[str, int, int]]


def fingerprint(folder: Path) -> Fingerprint:
    """Every file under `folder` by path, size and modification time (nanoseconds)."""
    found = set()
    for path in folder.rglob("*"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed while listed: the next poll sees the folder as it is
            continue
        if path.is_file():
            found.add((str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    return frozenset(found)


class EnvWatcher:
    """Calls `reload` once the files under `folder` changed and then held still for one poll."""

    def __init__(self, folder: Path, reload: Callable[[], None], say: Callable[[str], None] = print):
        self._folder = folder
        self._reload = reload
        self._say = say
        self._loaded = fingerprint(folder)  # the files as the code location loaded them
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="env-watch", daemon=True)
        self.reloaded_at: list[float] = []  # when each reload finished (epoch seconds)

    def __enter__(self) -> EnvWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        loaded = seen = self._loaded
        while not self._stop.wait(POLL_S):
            now = fingerprint(self._folder)
            if now == seen and now != loaded:  # changed, and still for one poll: a whole write
                loaded = now
                self._reload_once()
            seen = now

    def _reload_once(self) -> None:
        try:
            self._reload()
        except Exception as exc:  # the webserver restarting, a settings file with an error: said, kept watching
            self._say(f"mlops: env files changed; reloading the code location failed: {exc}")
            return
        self.reloaded_at.append(time.time())
        self._say(f"mlops: env files changed ({self._folder.name}); code location reloaded")
