"""Benchmark results as markdown: the tables, ratios against B1 of the same run, and the targets."""

from __future__ import annotations

from bench import batch, drift, explain, protocols, ramp, report_serving


def _hotswap(h: dict) -> list[str]:
    return [
        f"{h['swaps']} swaps in {h['seconds']} s at {h['achieved_rps']:,.0f} req/s (half the maximum "
        f"{h['max_rps']:,.0f} req/s targeted: {h['target_rps']:,.0f}):",
        "",
        "| failed requests | p99 in swap windows | p99 steady | reload p50 / max | "
        f"memory (PSS) before / after {h['reloads_back_to_back']} more reloads |",
        "|---|---|---|---|---|",
        f"| {h['failed_requests']} of {h['requests']:,} | {h['p99_ms_swap_windows']:.1f} ms "
        f"| {h['p99_ms_steady']:.1f} ms | {h['reload_ms_p50']:.0f} / {h['reload_ms_max']:.0f} ms "
        f"| {h['memory_mb_before']:.0f} / {h['memory_mb_after']:.0f} MB ({h['memory_growth'] * 100:+.1f}%) |",
        "",
    ]


def _releases(r: dict) -> list[str]:
    rows = [  # the targets of issue 27: (figure judged, at most)
        ("registration -> serving", r["registration_to_serving"], "p95_s", 1.5),
        ("commit -> new version served", r["commit_to_served"], "p50_s", 10.0),
        ("failed deploy -> previous version served", r["failed_deploy_to_previous_served"], "p50_s", 8.0),
    ]
    out = ["| path | n | p50 | p95 | target | met |", "|---|---|---|---|---|---|"]
    for name, figures, judged, target in rows:
        if figures.get("n"):
            met = figures[judged] <= target
            out.append(
                f"| {name} | {figures['n']} | {figures['p50_s']:.1f} s | {figures['p95_s']:.1f} s "
                f"| {judged.removesuffix('_s')} <= {target:g} s | {'yes' if met else '**no**'} |"
            )
    phases = r["commit_to_served"].get("phases") or []
    if phases:
        out += [
            "",
            "Where a commit's time goes (median): "
            + ", ".join(
                f"{name.removesuffix('_s').replace('_', ' ')} {sorted(p[name] for p in phases)[len(phases) // 2]:.1f} s"
                for name in phases[0]
            ),
        ]
    return out + [""]


FEAST_TARGETS = ("data", "sqlite", "sqlite_uncached", "redis", "redis_uncached")


def _feast(f: dict) -> list[str]:
    t = f["targets"]
    out = [
        f"Run {f['when']}: median of {f['rounds']} rounds x {f['seconds']} s, one row (one id) per request, "
        "same server and model; ratios against `data` rows in the same run.",
        "",
        "| request | 1 conn: req/s | p50 / p99 ms | 32 conns: req/s | p50 / p99 ms | failed |",
        "|---|---|---|---|---|---|",
    ]
    for key in [key for key in FEAST_TARGETS if key in t]:
        sc, base = t[key]["scenarios"], t["data"]["scenarios"]
        cells = []
        for scenario in ("1x1", "1x32"):
            ratio = sc[scenario]["rps"] / base[scenario]["rps"]
            cells += [
                f"{sc[scenario]['rps']:,.0f} ({ratio:.2f})",
                f"{sc[scenario]['p50_ms']:.2f} / {sc[scenario]['p99_ms']:.2f}",
            ]
        failed = sum(s["failed"] for s in sc.values())
        out.append(f"| {t[key]['label']} | " + " | ".join(cells) + f" | {failed} |")
    ratios = {
        key: t[key]["scenarios"]["1x32"]["rps"] / t["data"]["scenarios"]["1x32"]["rps"] for key in ("sqlite", "redis")
    }
    met = all(ratio >= 0.8 for ratio in ratios.values())
    shown = ", ".join(f"{key} {ratio:.2f}x" for key, ratio in ratios.items())
    return out + [
        "",
        f"Target `entity_ids` >= 0.8x `data` at 32 connections: {shown}: {'met' if met else '**not met**'}.",
        "",
    ]


def _named(n: dict) -> list[str]:
    t = n["targets"]
    out = [
        f"Run {n['when']}: median of {n['rounds']} rounds x {n['seconds']} s; the churn pipeline example (numeric, "
        "categorical and boolean columns, missing values); the same `dataframe_split` bodies to both; ratios against "
        "`mlflow models serve` in the same run.",
        "",
        "| server | rows x conns | req/s (ratio) | rows/s | p50 / p99 ms | CPU ms/req | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario in n["scenarios"]:
        rows = int(scenario.split("x")[0])
        for key in ("mlflow", "ours"):
            s, base = t[key]["scenarios"][scenario], t["mlflow"]["scenarios"][scenario]
            out.append(
                f"| {t[key]['label']} | {scenario} | {s['rps']:,.0f} ({s['rps'] / base['rps']:.2f}) | "
                f"{s['rps'] * rows:,.0f} | {s['p50_ms']:.2f} / {s['p99_ms']:.2f} | "
                f"{s['cpu_ms_per_request']:.2f} | {s['failed']} |"
            )
    return out + [""]


def _replicas(r: dict) -> list[str]:
    rows = [
        ("a release (deploy_job) -> served on all replicas", r["release_to_all_replicas"]),
        (f"alias moved by hand -> all replicas (watch every {r['poll_s']:g} s)", r["alias_by_hand_to_all_replicas"]),
    ]
    out = [
        f"{r['replicas']} replicas (uvicorn) behind HAProxy; each time from the registry change to the last replica.",
        "",
    ]
    out += ["| path | n | p50 | p95 | max |", "|---|---|---|---|---|"]
    out += [f"| {name} | {f['n']} | {f['p50_s']:.2f} s | {f['p95_s']:.2f} s | {f['max_s']:.2f} s |" for name, f in rows]
    t, base = r["throughput"], r["throughput"]["direct_1"]["rps"]
    labels = {
        "direct_1": "1 replica, direct",
        "balanced_1": "HAProxy -> 1 replica",
        "balanced_3": "HAProxy -> 3 replicas",
    }
    out += [
        "",
        f"Predict, 1 row x 32 connections (median of {r['rounds']} x {r['seconds']} s; wrk on core 1, the servers "
        "unpinned on the 2 cores); ratios against one replica called directly:",
        "",
        "| target | req/s (ratio) | p50 / p99 ms | CPU ms/req (servers + HAProxy) | failed |",
        "|---|---|---|---|---|",
    ]
    for key, label in labels.items():
        s = t[key]
        out.append(
            f"| {label} | {s['rps']:,.0f} ({s['rps'] / base:.2f}) | {s['p50_ms']:.2f} / {s['p99_ms']:.2f} | "
            f"{s['cpu_ms_per_request']:.2f} | {s['failed']} |"
        )
    return out + [""]


def render(results: dict) -> str:
    m = results["machine"]
    out = [f"Run {results['when']} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, Linux {m['kernel']}.", ""]
    for key, title, section in (
        ("serving", "Serving", report_serving.render),
        ("hotswap", "Hot-swap under load", _hotswap),
        ("releases", "Releases", _releases),
        ("replicas", "Replicas", _replicas),
    ):
        if key in results:
            # a section kept from an earlier run (a partial `./mlops bench --suites`) says when it ran
            when = [f"Run {results[key]['when']}.", ""] if "when" in results[key] else []
            out += [f"### {title}", "", *when] + section(results[key])
    if "protocols" in results:
        out += ["### Protocols: Open Inference Protocol v2 and /invocations", ""] + protocols.render(
            results["protocols"]
        )
    if "named" in results:
        out += ["### Named columns: the churn pipeline example", ""] + _named(results["named"])
    if "feast" in results:
        out += ["### Feast online lookups", ""] + _feast(results["feast"])
    if "drift" in results:
        when = [f"Run {results['drift']['when']}.", ""] if "when" in results["drift"] else []
        out += ["### Drift detection", "", *when] + drift.render(results["drift"])
    if "ramp" in results:
        when = [f"Run {results['ramp']['when']}.", ""] if "when" in results["ramp"] else []
        out += ["### Progressive delivery: the ramp", "", *when] + ramp.render(results["ramp"])
    if "explain" in results:
        when = [f"Run {results['explain']['when']}.", ""] if "when" in results["explain"] else []
        out += ["### Explanations", "", *when] + explain.render(results["explain"])
    if "batch" in results:
        when = [f"Run {results['batch']['when']}.", ""] if "when" in results["batch"] else []
        out += ["### Batch scoring", "", *when] + batch.render(results["batch"])
    return "\n".join(out)
