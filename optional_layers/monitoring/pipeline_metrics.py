"""Release metrics from lifecycle events. Dagster runs are short-lived processes, so the counts
live in a small JSON file under the env's state dir and are exported at scrape time."""

from __future__ import annotations

import fcntl
import json
import time
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    SummaryMetricFamily,
)


def store_path(state_dir: Path) -> Path:
    return state_dir / "metrics" / "pipeline.json"


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


def record(state_dir: Path, event: str, payload: dict, now: float | None = None) -> None:
    now = time.time() if now is None else now
    with _locked(store_path(state_dir)) as data:
        counts = data.setdefault("events", {})
        counts[event] = counts.get(event, 0) + 1
        registered = data.setdefault("registered_at", {})
        if event == "version_registered":
            registered[str(payload.get("version"))] = now
        elif event == "served" and str(payload.get("after_version")) in registered:
            latency = now - registered.pop(str(payload["after_version"]))
            data["serve_latency_sum"] = data.get("serve_latency_sum", 0.0) + latency
            data["serve_latency_count"] = data.get("serve_latency_count", 0) + 1
            data["serve_latency_last"] = latency
        data["last_event"] = {"event": event, "at": now}


class PipelineCollector:
    """Exports the stored release metrics on each scrape."""

    def __init__(self, state_dir: Path):
        self._path = store_path(state_dir)

    def collect(self):
        data = json.loads(self._path.read_text()) if self._path.exists() else {}
        events = CounterMetricFamily("mlops_pipeline_events", "Release lifecycle events", labels=["event"])
        for event, count in sorted(data.get("events", {}).items()):
            events.add_metric([event], count)
        yield events
        yield SummaryMetricFamily(
            "mlops_registration_to_serving_seconds", "Time from a version's registration to it being served",
            count_value=data.get("serve_latency_count", 0), sum_value=data.get("serve_latency_sum", 0.0),
        )
        last = GaugeMetricFamily("mlops_last_release_event_timestamp_seconds", "When the last release event happened")
        last.add_metric([], data.get("last_event", {}).get("at", 0))
        yield last
