"""Evidently's `DataDriftPreset` beside the drift layer's test (`bench.drift`): on the same unchanged
streams, looked at the same way (every LOOK_ROWS rows, the rows since the last look against the
reference: how a window-based monitor is run), how many streams it alarms on; and its time on one
wide window beside ours. Evidently (PyPI `evidently`) is a dev dependency only, for this bench.

Evidently picks its tests by the reference's size: above 1,000 rows, the normed Wasserstein distance
for numbers and the Jensen-Shannon distance for categories, each drifting past 0.1; the dataset
drifts when half of the columns do. Both readings are counted: any column, and the dataset.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from bench.drift import LOOK_ROWS, ROWS, churn, on_one_core


def null_alarms(streams: int) -> dict:
    """The first `streams` of `bench.drift.calibration`'s unchanged streams (the same seed), each
    looked at every LOOK_ROWS rows by a DataDriftPreset report."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    from optional_layers.drift.simulation import stream

    frame, _ = churn()
    rng = np.random.default_rng(0)
    any_column = dataset = looks = 0
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its per-column notes on small windows
        for _ in range(streams):
            live = stream(frame, ROWS, rng)
            column_alarm = dataset_alarm = False
            for start in range(0, ROWS, LOOK_ROWS):
                window = live.iloc[start : start + LOOK_ROWS].reset_index(drop=True)
                drifted = Report([DataDriftPreset()]).run(window, frame).dict()["metrics"][0]["value"]
                looks += 1
                column_alarm |= drifted["count"] > 0
                dataset_alarm |= drifted["share"] >= 0.5
            any_column += column_alarm
            dataset += dataset_alarm
    return {
        "streams": streams,
        "looks_per_stream": looks // streams,
        "any_column": any_column / streams,
        "dataset": dataset / streams,
        "seconds_per_look": (time.perf_counter() - started) / looks,
    }


def wide_window(rows: int, columns: int) -> dict:
    """In this process: one DataDriftPreset report on `rows` x `columns` numbers against a reference
    of 10,000 rows (the same data as `bench.drift.wide_window`)."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(0)
    names = [f"c{j}" for j in range(columns)]
    reference = pd.DataFrame(rng.normal(size=(10_000, columns)), columns=names)
    live = pd.DataFrame(rng.normal(size=(rows, columns)), columns=names)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Report([DataDriftPreset()]).run(live, reference).dict()
    return {"rows": rows, "columns": columns, "seconds": time.perf_counter() - started}


def run(streams: int = 20, rows: int = 100_000, columns: int = 100) -> dict:
    print(f"drift: Evidently's DataDriftPreset on {streams} of the unchanged streams...", flush=True)
    result = {"null": null_alarms(streams)}
    print(f"drift: Evidently and ours on {rows:,} rows x {columns:,} columns, one core...", flush=True)
    result["window"] = {
        "evidently": on_one_core(f"bench.drift_evidently.wide_window({rows}, {columns})"),
        "ours": on_one_core(f"bench.drift.wide_window({rows}, {columns}, 10_000)"),
    }
    return result


def render(d: dict, our_false_alarms: float, our_streams: int) -> list[str]:
    n, w = d["null"], d["window"]
    ours, theirs = w["ours"], w["evidently"]
    return [
        "Beside it, Evidently's `DataDriftPreset` (its defaults), on the first "
        f"{n['streams']} of the same unchanged streams, each window of {LOOK_ROWS} rows against the reference "
        f"({n['looks_per_stream']} looks a stream, {n['seconds_per_look']:.2f} s a look):",
        "",
        "| figure | drift layer | Evidently, any column | Evidently, dataset drift |",
        "|---|---|---|---|",
        f"| unchanged streams with any alarm | {our_false_alarms:.1%} of {our_streams} | {n['any_column']:.0%} "
        f"of {n['streams']} | {n['dataset']:.0%} of {n['streams']} |",
        f"| {theirs['rows']:,} rows x {theirs['columns']:,} columns, one core | {ours['seconds']:.2f} s "
        f"(10,000 rows a look) | {theirs['seconds']:.1f} s (one report) | |",
        "",
    ]
