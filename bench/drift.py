"""Drift detection measured against its anchors: false alarms on unchanged streams however often
looked at, how soon a moderate shift is found, and what counting and testing cost on one core.
(Evidently's preset beside it: not measured yet.)

The streams are the churn example's rows drawn with replacement (`optional_layers.drift.simulation`);
the wide window is 1,000,000 rows x 1,000 normal columns, tested a chunk at a time in a process of
its own pinned to one core (its peak RSS is the whole process's)."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "envs" / "churn-pipeline" / "customers.csv"
ALPHA, MIN_EFFECT, LOOK_ROWS, ROWS, CHANGE = 0.05, 0.1, 250, 20_000, 5_000


def churn():
    """The churn example's input columns, as training sees them, and the bins of their profile."""
    from core_assets.lib.schema import column_kind, normalise
    from optional_layers.drift.simulation import reference_bins

    frame = normalise(pd.read_csv(CHURN).drop(columns="churned"))
    return frame, reference_bins(frame, {name: column_kind(frame[name]) for name in frame.columns})


def calibration(streams: int, power_streams: int) -> dict:
    from optional_layers.drift.simulation import Shift, first_alarm, stream

    frame, bins = churn()
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    alarms = [first_alarm(bins, stream(frame, ROWS, rng), ALPHA, MIN_EFFECT, LOOK_ROWS) for _ in range(streams)]
    result = {
        "streams": streams,
        "rows": ROWS,
        "look_rows": LOOK_ROWS,
        "columns": len(bins),
        "false_alarms": sum(a is not None for a in alarms) / streams,
        "seconds_per_stream": (time.perf_counter() - started) / streams,
        "power": {},
    }
    for name, shift in (
        ("monthly_charges +0.5 sd", Shift("monthly_charges", CHANGE, sds=0.5)),
        ("plan: basic +20 points", Shift("plan", CHANGE, share=0.2, category="basic")),
    ):
        shifted = (stream(frame, ROWS, rng, shift) for _ in range(power_streams))
        found = [first_alarm(bins, live, ALPHA, MIN_EFFECT, LOOK_ROWS) for live in shifted]
        delays = [a - CHANGE for a in found if a is not None and a > CHANGE]
        result["power"][name] = {
            "streams": power_streams,
            "detected": len(delays) / power_streams,
            "median_delay_rows": statistics.median(delays) if delays else None,
        }
    return result


def update_rates(rows: int = 1_000_000) -> dict:
    """Rows a second counted into a column's bins: a number, a category (best of 3)."""
    from mlops_base.reference_profile import column_profile
    from optional_layers.drift.reference import bins_of

    rng = np.random.default_rng(0)
    numbers = rng.normal(size=rows)
    categories = rng.choice(np.array(["basic", "premium", "family", "student"], dtype=object), rows)
    rates = {}
    for name, values, kind in (("number", numbers, "number"), ("category", categories, "category")):
        bins = bins_of(column_profile(pd.Series(values[:10_000]), kind))
        best = min(_timed(lambda b=bins, v=values: b.counts(v)) for _ in range(3))
        rates[name] = rows / best
    return rates


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def wide_window(rows: int, columns: int, chunk: int) -> dict:
    """In this process: every column of `rows` x `columns` counted and tested, `chunk` rows a look."""
    from mlops_base.reference_profile import column_profile
    from optional_layers.drift.reference import bins_of
    from optional_layers.drift.sequential import ColumnTest, log_threshold

    rng = np.random.default_rng(0)
    reference = rng.normal(size=(10_000, columns))
    bins = [bins_of(column_profile(pd.Series(reference[:, j]), "number")) for j in range(columns)]
    tests = [ColumnTest(b.probabilities, log_threshold(columns, ALPHA), MIN_EFFECT) for b in bins]
    live = rng.normal(size=(chunk, columns))  # one chunk, looked at rows / chunk times
    live_columns = [np.ascontiguousarray(live[:, j]) for j in range(columns)]
    started = time.perf_counter()
    for _ in range(rows // chunk):
        for j, test in enumerate(tests):
            test.update(bins[j].counts(live_columns[j]))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": rows, "columns": columns, "chunk": chunk, "seconds": seconds, "peak_rss_mb": peak_mb}


def run(rows: int = 1_000_000, columns: int = 1_000, streams: int = 400, power_streams: int = 200) -> dict:
    print("drift: null calibration and power on the churn data...", flush=True)
    result = {"calibration": calibration(streams, power_streams), "update_rows_per_s": update_rates()}
    print(f"drift: a window of {rows:,} rows x {columns:,} columns on one core...", flush=True)
    result["wide_window"] = on_one_core(f"bench.drift.wide_window({rows}, {columns}, 10_000)")
    from bench import drift_evidently  # it imports this module

    result["evidently"] = drift_evidently.run()
    return result


def on_one_core(call: str) -> dict:
    """`call` (`module.function(...)` of the bench) run in a fresh process pinned to core 0: its
    result, printed as JSON."""
    module = call.rsplit(".", 1)[0]
    code = f"import json, {module}; print(json.dumps({call}))"
    printed = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(printed.stdout.strip().splitlines()[-1])


def render(d: dict) -> list[str]:
    c, w, rates = d["calibration"], d["wide_window"], d["update_rows_per_s"]
    out = [
        f"The churn example's rows drawn with replacement, {c['columns']} columns, looked at every "
        f"{c['look_rows']} rows; `DRIFT_ALPHA` {ALPHA}, `DRIFT_MIN_EFFECT` {MIN_EFFECT} (PSI).",
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
        f"| unchanged streams with any alarm ({c['streams']} x {c['rows']:,} rows) | {c['false_alarms']:.1%} "
        f"| <= {ALPHA + 0.02:.0%} | {_met(c['false_alarms'] <= ALPHA + 0.02)} |",
    ]
    for name, p in c["power"].items():
        delay = p["median_delay_rows"]
        met = p["detected"] >= 0.95 and delay is not None and delay <= 1_500
        out.append(
            f"| {name} from row {CHANGE:,}: found ({p['streams']} streams), median delay | {p['detected']:.0%}, "
            f"{'-' if delay is None else f'{delay:,.0f}'} rows | >= 95%, <= 1,500 rows | {_met(met)} |"
        )
    slowest = min(rates.values())
    out += [
        f"| rows counted a second, one column (number / category) | {rates['number']:,.0f} / "
        f"{rates['category']:,.0f} | >= 200,000 | {_met(slowest >= 200_000)} |",
        f"| {w['rows']:,} rows x {w['columns']:,} columns tested, one core ({w['chunk']:,} rows a look) | "
        f"{w['seconds']:.1f} s, peak RSS {w['peak_rss_mb']:,.0f} MB | <= 60 s, <= 2 GiB | "
        f"{_met(w['seconds'] <= 60 and w['peak_rss_mb'] <= 2048)} |",
        "",
    ]
    if "evidently" in d:
        from bench import drift_evidently

        out += drift_evidently.render(d["evidently"], c["false_alarms"], c["streams"])
    return out


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"
