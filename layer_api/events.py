"""The event vocabularies the core emits and layers subscribe to: one closed set per process kind."""

from __future__ import annotations

from typing import Literal, get_args

# what the release path tells `mlops_lifecycle_event` subscribers, in the Dagster run or sensor
LifecycleEvent = Literal[
    "gate_failed",
    "version_registered",
    "served",
    "deploy_failed",
    "deploy_refused",
    "rolled_back",
    "readiness_failed",
    "drift_detected",
    "replay_failed",
    "ramp_advanced",
    "probe_failed",
]
# what the model server tells `mlops_serving_event` subscribers
ServingEvent = Literal["reloaded", "reload_failed", "shadow_compared"]

LIFECYCLE_EVENTS: frozenset[str] = frozenset(get_args(LifecycleEvent))
SERVING_EVENTS: frozenset[str] = frozenset(get_args(ServingEvent))
# lifecycle events that say something went wrong (logged as warnings): all but these three
WARNING_EVENTS: frozenset[str] = LIFECYCLE_EVENTS - {"version_registered", "served", "ramp_advanced"}


def check_event(event: str, known: frozenset[str]) -> None:
    """ValueError for an event outside its vocabulary (a typo would otherwise reach no subscriber)."""
    if event not in known:
        raise ValueError(f"unknown event {event!r}; known: {', '.join(sorted(known))}")
