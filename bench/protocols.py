"""The standard protocols side by side, same protocol and same body, in one run: this server's Open
Inference Protocol (v2) route against MLServer and Triton, which also speak it, on one v2 JSON body;
its `/invocations` against `mlflow models serve` on one `dataframe_split` body; and its own
`/predict` for the same rows, so the cost of each protocol shows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bench import peers
from bench.serving import Scenario, side_by_side, suite_result
from bench.targets import Target

BATCHES = (1, 100)
CONNECTIONS = (1, 32)
PEERS = {"ours", "mlserver", "mlserver_pw0", "triton", "mlflow"}
ORDER = ("ours", "ours_v2", "mlserver", "mlserver_pw0", "triton", "ours_invocations", "mlflow")


def _protocol_targets(targets: list[Target], model_name: str) -> list[Target]:
    """This server twice more: its v2 route with the peers' v2 body, its `/invocations` with
    `mlflow models serve`'s body."""
    ours = next(t for t in targets if t.key == "ours")
    mlflow_body = next(t for t in targets if t.key == "mlflow").body
    return [
        replace(
            ours,
            key="ours_v2",
            label="**this server, v2 infer** (JSON)",
            path=f"/v2/models/{model_name}/infer",
            ready_path="/v2/health/ready",
            body=peers.kserve_v2_body,
            env=dict(ours.env),
        ),
        replace(
            ours,
            key="ours_invocations",
            label="**this server, /invocations**",
            path="/invocations",
            ready_path="/ping",
            body=mlflow_body,
            env=dict(ours.env),
        ),
    ]


def _with_protocol_targets(targets: list[Target], model_name: str) -> list[Target]:
    return sorted(targets + _protocol_targets(targets, model_name), key=lambda t: ORDER.index(t.key))


def run(workdir: Path, venvs: Path, rounds: int, seconds: float) -> dict:
    scenarios = [Scenario(rows, conns) for rows in BATCHES for conns in CONNECTIONS]
    targets, results = side_by_side(workdir, venvs, scenarios, rounds, seconds, PEERS, more=_with_protocol_targets)
    return suite_result(targets, scenarios, results, rounds, seconds)


def _judged(t: dict) -> list[tuple[str, str, bool | None]]:
    def rps(key: str, scenario: str) -> float:
        return t[key]["scenarios"][scenario]["rps"]

    rows = []
    for scenario in t["ours"]["scenarios"]:
        rows_n, conns = scenario.split("x")
        ratio = rps("ours_v2", scenario) / rps("ours", scenario)
        rows.append((f"{rows_n} row(s) x {conns} conns: v2 JSON >= 0.90 x /predict", f"{ratio:.2f} x", ratio >= 0.90))
    best = max(("mlserver", "mlserver_pw0"), key=lambda k: rps(k, "1x32"))
    ahead = rps("ours_v2", "1x32") / rps(best, "1x32")
    rows.append((f"1 row x 32 conns: v2 >= 2 x the best MLServer ({t[best]['label']})", f"{ahead:.2f} x", ahead >= 2))
    for scenario in t["ours"]["scenarios"]:
        ratio = rps("ours_invocations", scenario) / rps("mlflow", scenario)
        rows.append((f"{scenario}: /invocations vs mlflow models serve (reported)", f"{ratio:.2f} x", None))
    return rows


def render(p: dict) -> list[str]:
    t = p["targets"]
    out = [
        f"Run {p['when']}: median of {p['rounds']} rounds x {p['seconds']} s, rounds interleaved; server on core 0, "
        "wrk on core 1. The v2 targets get one body (input `input-0`, output `predict`), the `/invocations` "
        "targets one `dataframe_split` body.",
        "",
        "| target | " + " | ".join(s.replace("x", " row(s) x ") + " conns" for s in p["scenarios"]) + " | failed |",
        "|---|" + "---|" * (len(p["scenarios"]) + 1),
    ]
    for key in ORDER:
        sc = t[key]["scenarios"]
        cells = [f"{sc[s]['rps']:,.0f} req/s, p99 {sc[s]['p99_ms']:.1f} ms" for s in p["scenarios"]]
        out.append(f"| {t[key]['label']} | " + " | ".join(cells) + f" | {sum(s['failed'] for s in sc.values())} |")
    out += ["", "| target | figure | met |", "|---|---|---|"]
    out += [
        f"| {name} | {figure} | {'-' if met is None else 'yes' if met else '**no**'} |"
        for name, figure, met in _judged(t)
    ]
    return out + [""]
