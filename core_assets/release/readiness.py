"""Readiness: which newly registered versions to deploy, wait for, or give up on."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

KEEP_DEPLOYED = 50


@dataclass
class ReadinessCursor:
    """What the readiness sensor has seen: event-log position, versions waiting, versions deployed."""

    events_cursor: str | None = None  # Dagster's event-log cursor after the last seen registration
    pending: list[str] = field(default_factory=list)
    deployed: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> ReadinessCursor:
        return cls(**json.loads(raw)) if raw else cls()

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class ReadinessDecision:
    deploy: list[str]
    waiting: dict[str, str]
    failed: list[str]
    cursor: ReadinessCursor


def decide(cursor: ReadinessCursor, new_versions: list[str], status_of) -> ReadinessDecision:
    """Versions READY now are deployed (once each); FAILED_REGISTRATION is given up; others wait.

    `status_of(version)` returns the registry's status for a version.
    """
    candidates = list(dict.fromkeys(cursor.pending + new_versions))
    deploy, failed, waiting = [], [], {}
    for version in candidates:
        if version in cursor.deployed:
            continue
        status = status_of(version)
        if status == "READY":
            deploy.append(version)
        elif status == "FAILED_REGISTRATION":
            failed.append(version)
        else:
            waiting[version] = status
    # only the newest READY version is worth serving; older ones are superseded
    deploy = sorted(deploy, key=int)[-1:]
    superseded = [v for v in candidates if v not in waiting and v not in failed]
    next_cursor = ReadinessCursor(
        events_cursor=cursor.events_cursor,
        pending=sorted(waiting, key=int),
        deployed=(cursor.deployed + superseded)[-KEEP_DEPLOYED:],
    )
    return ReadinessDecision(deploy, waiting, failed, next_cursor)
