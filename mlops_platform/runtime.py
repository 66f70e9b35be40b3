"""What `./mlops up` runs, for the commands that talk to it (`status`, `predict`, `rollback`, `logs`,
`reset`): `<state>/platform.json`, written once every service is up and removed when they stop."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mlops_base.settings import REPO_ROOT, Settings


@dataclass(frozen=True)
class Running:
    pid: int  # the launcher's
    urls: dict[str, str]  # service name -> URL, in start order

    @property
    def serving_urls(self) -> list[str]:
        """Each model-server replica (not the balancer in front of them)."""
        return [url for name, url in self.urls.items() if name == "serving" or name.startswith("serving-")]

    @property
    def serving_url(self) -> str:
        """Where clients send requests: the balancer in front of the replicas, or the one server."""
        return self.urls.get("balancer") or self.urls["serving"]


def local_serving_url(settings: Settings) -> str:
    """The env's model server: the one `up` runs (with replicas, their balancer), else its settings'."""
    found = running(settings)
    return found.serving_url if found else settings.serving_url or f"http://127.0.0.1:{settings.serving_port}"


def shown(path: Path) -> Path:
    """A path as printed to people: relative to the checkout when inside it (no machine paths)."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def _record_file(settings: Settings) -> Path:
    return settings.state_dir / "platform.json"


def record(settings: Settings, urls: dict[str, str]) -> None:
    path = _record_file(settings)
    path.write_text(json.dumps({"pid": os.getpid(), "urls": urls}, indent=1))


def forget(settings: Settings) -> None:
    _record_file(settings).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def running(settings: Settings) -> Running | None:
    """The env's platform if its launcher is alive (a record left by a killed one is ignored)."""
    try:
        saved = json.loads(_record_file(settings).read_text())
        found = Running(int(saved["pid"]), dict(saved["urls"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if _alive(found.pid) else None
