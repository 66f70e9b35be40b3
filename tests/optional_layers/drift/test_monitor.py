"""The monitor follows each version's model calls as the server hands them over: rows from the
reference's distribution raise nothing, shifted rows raise drift naming the column, once; a version
without a reference says so, and a registry that is down is asked again."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.drift import churn
from core_assets.lib.schema import column_kind
from layer_api import ScoredBatch
from mlops_base.reference_profile import build_profile
from optional_layers.drift.monitor import RETRY_SECONDS, DriftMonitor
from optional_layers.drift.simulation import Shift, stream

MODEL = "churn"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return churn()[0]


def _profile(frame: pd.DataFrame) -> dict:
    kinds = {name: column_kind(frame[name]) for name in frame.columns}
    return build_profile(frame, kinds, _predict(frame), "category")


def _predict(rows: pd.DataFrame) -> np.ndarray:
    """A stand-in model: churns when the bill is high."""
    return np.where(rows["monthly_charges"].to_numpy() > 70, "yes", "no")


def _calls(rows: pd.DataFrame, version: str, size: int = 16) -> list[ScoredBatch]:
    """The rows as the server hands them over: one batch per model call of `size` rows."""
    return [
        ScoredBatch(MODEL, version, part, list(part.columns), _predict(part))
        for part in (rows.iloc[i : i + size].reset_index(drop=True) for i in range(0, len(rows), size))
    ]


def _monitor(
    references: dict, alarms: list | None = None, clock=lambda: 0.0, asked: list | None = None
) -> DriftMonitor:
    def fetch(model: str, version: str):
        if asked is not None:
            asked.append(version)
        found = references[version]
        if isinstance(found, Exception):
            raise found
        return found

    on_drift = None if alarms is None else (lambda version, columns: alarms.append((version, columns)))
    return DriftMonitor(MODEL, fetch, alpha=0.05, min_effect=0.1, look_rows=250, on_drift=on_drift, clock=clock)


def test_rows_like_the_reference_raise_nothing_and_a_shift_raises_drift_once(frame):
    alarms: list = []
    monitor = _monitor({"3": _profile(frame)}, alarms)
    rng = np.random.default_rng(1)
    for batch in _calls(stream(frame, 5_000, rng), "3"):
        monitor.observe(batch)
    monitor.step()
    state = monitor.state({"A": "3"})["versions"][0]
    assert (state["status"], state["rows"], state["drifted"], alarms) == ("watching", 5_000, [], [])
    assert {c["column"] for c in state["columns"]} == {*frame.columns, "prediction"}

    shifted = stream(frame, 4_000, rng, Shift("monthly_charges", at=0, sds=0.5))
    for batch in _calls(shifted, "3"):
        monitor.observe(batch)
    monitor.step()
    state = monitor.state({"A": "3", "B": "3"})["versions"][0]
    assert state["status"] == "drift" and state["aliases"] == ["A", "B"]
    assert "monthly_charges" in state["drifted"] and state["detected_at"]
    charges = next(c for c in state["columns"] if c["column"] == "monthly_charges")
    assert charges["statistic"] >= charges["threshold"] and charges["effect"] >= 0.1
    assert len(charges["bins"]) == len(charges["reference"]) == len(charges["live"])
    assert sum(charges["live"]) == pytest.approx(1.0, abs=1e-3)
    assert [version for version, _ in alarms] == ["3"] and "monthly_charges" in alarms[0][1]

    for batch in _calls(shifted, "3"):  # drift stays raised: no second alarm for the same columns
        monitor.observe(batch)
    monitor.step()
    assert len(alarms) == 1


def test_positional_arrays_are_counted_by_column_position(frame):
    numbers = frame[["tenure_months", "monthly_charges"]].dropna().reset_index(drop=True)
    profile = build_profile(numbers, dict.fromkeys(numbers.columns, "number"), np.zeros(len(numbers)), "number")
    monitor = _monitor({"1": profile})
    rows = numbers.to_numpy(np.float64)[:1_000]
    monitor.observe(ScoredBatch(MODEL, "1", rows, list(numbers.columns), np.zeros(len(rows))))
    monitor.step()
    [state] = monitor.state({"A": "1"})["versions"]
    assert state["rows"] == 1_000 and state["status"] == "watching"


def test_a_version_without_a_reference_says_so_and_a_registry_that_is_down_is_asked_again(frame):
    references: dict = {"1": None, "2": ConnectionError("registry down")}
    now, asked = [0.0], []
    monitor = _monitor(references, clock=lambda: now[0], asked=asked)
    for version in ("1", "2"):
        monitor.observe(_calls(frame.head(20), version)[0])
    monitor.observe(ScoredBatch("another-model", "1", frame.head(3), list(frame.columns), _predict(frame.head(3))))
    monitor.step()
    states = {s["version"]: s for s in monitor.state({"A": "1", "B": "2"})["versions"]}
    assert states["1"]["status"] == "no reference" and states["1"]["rows"] == 0
    assert states["2"]["status"] == "reference unavailable" and "registry down" in states["2"]["reason"]

    for waited in RETRY_SECONDS[:3]:  # asked again after 1 s, then 2 s, 4 s...: still down
        monitor.observe(_calls(frame.head(20), "2")[0])
        monitor.step()  # within the wait: not asked
        assert monitor.state({"B": "2"})["versions"][0]["status"] == "reference unavailable"
        now[0] += waited
        monitor.observe(_calls(frame.head(20), "2")[0])
        monitor.step()
    assert asked.count("2") == 4

    references["2"] = _profile(frame)
    now[0] += RETRY_SECONDS[3]
    monitor.observe(_calls(frame.head(20), "2")[0])
    monitor.step()
    assert monitor.state({"B": "2"})["versions"][0]["status"] == "watching"


def test_a_served_version_not_seen_yet_has_no_traffic():
    monitor = _monitor({})
    [state] = monitor.state({"A": "4", "B": None})["versions"]
    assert (state["version"], state["status"], state["columns"]) == ("4", "no traffic", [])


def test_past_the_rows_a_step_tests_every_kth_row_and_still_finds_a_shift(frame):
    monitor = _monitor({"3": _profile(frame)})
    shifted = stream(frame, 50_000, np.random.default_rng(2), Shift("monthly_charges", at=0, sds=0.5))
    for batch in _calls(shifted, "3", size=1_000):
        monitor.observe(batch)
    monitor.step()
    [state] = monitor.state({"A": "3"})["versions"]
    assert (state["answered_rows"], state["rows"]) == (50_000, 16_667)  # every 3rd row: 20,000 at most
    assert state["status"] == "drift" and "monthly_charges" in state["drifted"]
