"""The serving suite's section of the results: throughput and latency tables against B1, the
Triton trade-off, and the serving targets judged."""

from __future__ import annotations

import statistics

SERVING_ORDER = [  # the shipped configuration first, the tuned and layered ones beside it
    "ours",
    "b0",
    "b1",
    "mlserver",
    "mlserver_pw0",
    "mlflow",
    "bentoml",
    "bentoml_batch",
    "litserve",
    "litserve_batch",
    "triton",
    "ours_nobatch",
    "ours_before",
    "ours_monitoring",
    "ours_logging",
    "ours_evaluation",
    "ours_drift",
    "ours_ramp",
    "ours_predict_token",
    "ours_tracing",
    "ours_tracing_all",
    "ours_triton",
]


# what each layer (and tracing) may cost at 1 row x 32 connections, as the report names them
LAYER_TARGETS = {
    "ours_monitoring": ("monitoring layer", 0.03),
    "ours_logging": ("logging layer, Loki unreachable,", 0.03),
    "ours_evaluation": ("evaluation layer's prediction log", 0.03),
    "ours_drift": ("drift layer (every column and the prediction tested)", 0.03),
    "ours_ramp": ("ramp mode's routing, against ab_test's,", 0.02),
    "ours_tracing": ("tracing at the default sampling", 0.03),
    "ours_tracing_all": ("tracing of every request (exporter included)", 0.30),
}


def rps_ratio(t: dict, a: str, b: str, scenario: str) -> float:
    """`a`'s requests/s over `b`'s: the median of the rounds' ratios when both kept their rounds (a
    round measures the two seconds apart, so the host's drift from round to round cancels; the
    ratio of the medians moved 5-10% between targets of the same code in one run), else the ratio
    of the medians."""
    first, second = (t[k]["scenarios"][scenario] for k in (a, b))
    rounds = list(zip(first.get("rps_rounds", []), second.get("rps_rounds", []), strict=False))
    if rounds and len(rounds) == len(first["rps_rounds"]) == len(second["rps_rounds"]):
        return statistics.median(mine / theirs for mine, theirs in rounds)
    return first["rps"] / second["rps"]


def _before_after(t: dict) -> list[tuple[str, str, bool | None]]:
    """This tree against `--before REV` (target ours_before), in the same run: within 3%."""
    if not {"ours", "ours_before"} <= set(t):
        return []
    rows = []
    for scenario in ("1x1", "1x32"):
        if scenario in t["ours"]["scenarios"]:
            now, before = (t[k]["scenarios"][scenario] for k in ("ours", "ours_before"))
            ratio = rps_ratio(t, "ours", "ours_before", scenario)
            cpu = now["cpu_ms_per_request"] / before["cpu_ms_per_request"]
            rows.append(
                (
                    f"{scenario.replace('x', ' row(s), ')} conns: this tree >= 0.97 x {t['ours_before']['label']}",
                    f"{ratio:.3f} x (CPU per request {cpu:.3f} x)",
                    ratio >= 0.97,
                )
            )
    return rows


def _against_triton(t: dict) -> list[tuple[str, str, bool | None]]:
    """The hot path against Triton alone, and what the start, the memory and the backend cost."""
    if "ours" not in t:
        return []
    rows = []
    ours = t["ours"]["scenarios"]
    if "triton" in t:
        triton = t["triton"]["scenarios"]
        for scenario, wanted in (("1x32", 1.2), ("100x32", 1.0)):
            if scenario in ours:
                ratio = rps_ratio(t, "ours", "triton", scenario)
                stretch = " (stretch 1.5)" if scenario == "1x32" else ""
                rows.append((f"{scenario}: >= {wanted} x Triton alone{stretch}", f"{ratio:.2f} x", ratio >= wanted))
        if "1x1" in ours:
            mine, theirs = ours["1x1"]["p50_ms"], triton["1x1"]["p50_ms"]
            rows.append(("1x1: p50 <= Triton's", f"{mine:.2f} vs {theirs:.2f} ms", mine <= theirs))
    if "b1" in t:
        ratio = t["ours"]["start_to_ready_s"] / t["b1"]["start_to_ready_s"]
        rows.append(("start to ready <= 1.2 x B1's", f"{ratio:.2f} x", ratio <= 1.2))
    if "ours_triton" in t and "1x32" in ours:
        ratio = rps_ratio(t, "ours_triton", "ours", "1x32")
        rows.append(("1x32: a Triton variant >= 0.9 x in-process", f"{ratio:.2f} x", ratio >= 0.9))
    return rows


def _targets(serving: dict) -> list[tuple[str, str, bool | None]]:
    """(target, figure, met) for each serving target of the issues that the run can judge."""
    t = serving["targets"]
    if not {"b1", "ours", "ours_nobatch"} <= set(t):
        return _against_triton(t) + _memory_and_layers(t) + _before_after(t)

    def rps(key: str, scenario: str) -> float:
        return t[key]["scenarios"][scenario]["rps"]

    def lat(key: str, scenario: str, p: str) -> float:
        return t[key]["scenarios"][scenario][f"{p}_ms"]

    rows = []
    for scenario in ("1x32", "100x32"):
        if scenario not in t["b1"]["scenarios"]:
            continue
        off, on = rps("ours_nobatch", scenario) / rps("b1", scenario), rps("ours", scenario) / rps("b1", scenario)
        rows.append(
            (f"{scenario.split('x')[0]} row(s), 32 conns, batching off >= 0.85 x B1", f"{off:.2f} x", off >= 0.85)
        )
        rows.append(
            (
                f"{scenario.split('x')[0]} row(s), 32 conns, batching on >= 1.0 x B1 (stretch 1.5)",
                f"{on:.2f} x",
                on >= 1.0,
            )
        )
        peers = [k for k in ("mlserver", "mlserver_pw0") if k in t]
        if peers:
            best = max(rps(k, scenario) for k in peers)
            rows.append(
                (
                    f"{scenario}: >= 1.6 x the best MLServer",
                    f"{rps('ours', scenario) / best:.2f} x",
                    rps("ours", scenario) >= 1.6 * best,
                )
            )
        if "mlflow" in t:
            rows.append(
                (
                    f"{scenario}: ahead of mlflow models serve",
                    f"{rps('ours', scenario) / rps('mlflow', scenario):.2f} x",
                    rps("ours", scenario) > rps("mlflow", scenario),
                )
            )
    if "1x1" in t["b1"]["scenarios"]:
        p50 = lat("ours", "1x1", "p50") / lat("b1", "1x1", "p50")
        p99 = lat("ours", "1x1", "p99") / lat("b1", "1x1", "p99")
        rows.append(("1 client, 1 row: p50 <= 1.2 x B1", f"{p50:.2f} x", p50 <= 1.2))
        rows.append(("1 client, 1 row: p99 <= 2 x B1", f"{p99:.2f} x", p99 <= 2.0))
        added = lat("ours", "1x1", "p50") - lat("ours_nobatch", "1x1", "p50")
        rows.append(("batching: added p50 latency at 1 client (reported)", f"{added * 1000:+.0f} us", None))
    if "10000x1" in t["ours"]["scenarios"] and "1x1" in t["ours"]["scenarios"]:
        fall = lat("ours", "1x1", "p50") / (lat("ours", "10000x1", "p50") / 10_000)
        rows.append(("per-row cost falls >= 50 x from 1 to 10,000 rows", f"{fall:.0f} x", fall >= 50))
    return rows + _against_triton(t) + _memory_and_layers(t) + _before_after(t)


def _memory_and_layers(t: dict) -> list[tuple[str, str, bool | None]]:
    """Memory against MLServer's, and what each layer and tracing cost."""
    rows = []
    for peer in ("mlserver", "mlserver_pw0"):
        if peer in t and "ours" in t:
            for name, field in (("PSS", "memory_mb"), ("RSS", "rss_mb")):
                mine, theirs = t["ours"].get(field, 0.0), t[peer].get(field, 0.0)
                rows.append(
                    (
                        f"memory ({name}), both aliases loaded <= {t[peer]['label']} with one model",
                        f"{mine:.0f} vs {theirs:.0f} MB",
                        mine <= theirs if theirs else None,
                    )
                )
    base = t.get("ours", {}).get("scenarios", {}).get("1x32")
    for key, (layer, budget) in LAYER_TARGETS.items():
        if key in t and base is not None:
            cost = 1 - rps_ratio(t, key, "ours", "1x32")
            rows.append((f"{layer} costs <= {budget:.0%} (1 row, 32 conns)", f"{cost * 100:.1f}%", cost <= budget))
    if "ours_predict_token" in t and base is not None:
        cost = 1 - rps_ratio(t, "ours_predict_token", "ours", "1x32")
        rows.append(("PREDICT_TOKEN on (reported)", f"{cost * 100:.1f}%", None))
    return rows


def render(serving: dict) -> list[str]:
    t = serving["targets"]
    keys = [k for k in SERVING_ORDER if k in t]
    scenarios = serving["scenarios"]
    batches = sorted({int(s.split("x")[0]) for s in scenarios})
    out = [
        f"Median of {serving['rounds']} rounds x {serving['seconds']} s per cell, rounds interleaved across "
        "targets; server on core 0, wrk on core 1; ratios against B1 in the same run.",
        "",
    ]
    for conns in (32, 1):
        out += [
            f"**Throughput, {conns} connection{'s' if conns > 1 else ''}: requests/s (x B1)**",
            "",
            "| target | " + " | ".join(f"{b:,} row{'s' if b > 1 else ''}" for b in batches) + " |",
            "|---|" + "---|" * len(batches),
        ]
        for key in keys:
            cells = []
            for b in batches:
                s = t[key]["scenarios"].get(f"{b}x{conns}")
                b1 = t.get("b1", {}).get("scenarios", {}).get(f"{b}x{conns}")
                cells.append("" if s is None else f"{s['rps']:,.0f}" + (f" ({s['rps'] / b1['rps']:.2f})" if b1 else ""))
            out.append(f"| {t[key]['label']} | " + " | ".join(cells) + " |")
        out.append("")
    out += [
        "**Latency p50 / p99 (ms) and cost**",
        "",
        "| target | 1 row, 1 conn | 1 row, 32 conns | 10,000 rows, 1 conn | CPU ms/request (1 row, 32 conns) "
        "| memory (PSS / RSS, MB) | start to ready (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in keys:
        sc = t[key]["scenarios"]

        def pair(name: str, sc: dict = sc) -> str:
            return f"{sc[name]['p50_ms']:.2f} / {sc[name]['p99_ms']:.2f}" if name in sc else ""

        cpu = f"{sc['1x32']['cpu_ms_per_request']:.3f}" if "1x32" in sc else ""
        out.append(
            f"| {t[key]['label']} | {pair('1x1')} | {pair('1x32')} | {pair('10000x1')} | {cpu} "
            f"| {t[key]['memory_mb']:.0f} / {t[key].get('rss_mb', 0):.0f} | {t[key]['start_to_ready_s']:.1f} |"
        )
    failed = {k: sum(s["failed"] for s in t[k]["scenarios"].values()) for k in keys}
    out += ["", "Failed requests: " + ", ".join(f"{k} {n}" for k, n in failed.items()), ""]
    out += _triton_tradeoff(t)
    rows = _targets(serving)
    if rows:
        out += [
            "**Targets** (a ratio between two targets: the median of the rounds' ratios)",
            "",
            "| target | figure | met |",
            "|---|---|---|",
        ]
        out += [
            f"| {name} | {figure} | {'-' if met is None else 'yes' if met else '**no**'} |"
            for name, figure, met in rows
        ]
        out.append("")
    return out


def _triton_tradeoff(t: dict) -> list[str]:
    """The Triton backend against the in-process one, per batch size, from the same run."""
    if not {"ours", "ours_triton"} <= set(t):
        return []
    out = [
        "**Triton backend vs in-process (this server, same run)**: requests/s at 32 connections and p50 at 1, "
        "Triton / in-process",
        "",
        "| rows per request | req/s in-process | req/s Triton | ratio "
        "| p50 in-process (ms) | p50 Triton (ms) | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario in sorted({k.split("x")[0] for k in t["ours"]["scenarios"]}, key=int):
        many, one = t["ours"]["scenarios"].get(f"{scenario}x32"), t["ours"]["scenarios"].get(f"{scenario}x1")
        many_t, one_t = (
            t["ours_triton"]["scenarios"].get(f"{scenario}x32"),
            t["ours_triton"]["scenarios"].get(f"{scenario}x1"),
        )
        if not (many and one and many_t and one_t):
            continue
        out.append(
            f"| {int(scenario):,} | {many['rps']:,.0f} | {many_t['rps']:,.0f} | {many_t['rps'] / many['rps']:.2f} "
            f"| {one['p50_ms']:.2f} | {one_t['p50_ms']:.2f} | {one_t['p50_ms'] / one['p50_ms']:.2f} |"
        )
    return out + [""]
