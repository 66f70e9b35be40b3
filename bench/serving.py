"""Serving, side by side in one run: bare endpoints, peers and this server on the same model and core.

Every target is started (timed to ready), checked to give the same predictions, warmed up, and
then measured in interleaved rounds (round r of every target before round r + 1 of any, each round
in a new order), so slow drift of the machine hits all targets alike. Figures are medians over the
rounds.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import load
from bench.models import register_iris_model
from bench.otlp_sink import OtlpSink
from bench.target_runs import check_answers, start_targets, stop_targets
from bench.targets import CONNECTIONS, Target, build_targets, rows_of
from mlops_platform import processes


@dataclass
class Scenario:
    rows: int
    connections: int

    @property
    def key(self) -> str:
        return f"{self.rows}x{self.connections}"


def _others(targets: list[Target], target: Target) -> set[int]:
    """The process groups of every pausable target but `target` (never the server behind a target)."""
    return {other.service.process.pid for other in targets if other.pausable} - set(target.leaders)


def measure(targets: list[Target], scenarios: list[Scenario], rounds: int, seconds: float) -> dict:
    """Each target measured alone on the core: the others are paused meanwhile. Each round takes the
    targets in a new order (seeded): in one fixed order, the server read ~10% below copies of the
    same code further down the list, and an A/B's ratio moved by up to 15% with the order alone."""
    bodies = {(t.key, s.rows): t.body(rows_of(s.rows)) for t in targets for s in scenarios}
    for target in targets:  # warm-up
        one_row = bodies.get((target.key, 1)) or target.body(rows_of(1))
        with load.paused(_others(targets, target)):
            load.run_wrk(target.service.url + target.path, one_row, 32, 2, target.leaders, headers=target.headers)
        target.memory_mb = load.memory_mb(*target.leaders)
        target.rss_mb = load.memory_mb(*target.leaders, field="Rss")
    results: dict[str, dict[str, list[load.Round]]] = {t.key: {s.key: [] for s in scenarios} for t in targets}
    for r in range(rounds):
        order = random.Random(r).sample(targets, len(targets))
        for scenario in scenarios:
            for target in order:
                with load.paused(_others(targets, target)):
                    measured = load.run_wrk(
                        target.service.url + target.path,
                        bodies[target.key, scenario.rows],
                        scenario.connections,
                        seconds,
                        target.leaders,
                        headers=target.headers,
                    )
                results[target.key][scenario.key].append(measured)
            print(
                f"  round {r + 1}/{rounds}, {scenario.rows} rows x {scenario.connections} conns: "
                + ", ".join(f"{t.key} {results[t.key][scenario.key][-1].rps:.0f}/s" for t in targets),
                flush=True,
            )
    return results


def summarize(targets: list[Target], scenarios: list[Scenario], results: dict) -> dict:
    """Medians per target and scenario (and each round's requests/s), and the failures (which must be none)."""
    summary = {}
    for target in targets:
        per = {}
        for scenario in scenarios:
            rounds = results[target.key][scenario.key]
            per[scenario.key] = {
                "rps": statistics.median(r.rps for r in rounds),
                "rps_rounds": [r.rps for r in rounds],  # in round order: ratios between targets pair them
                "p50_ms": statistics.median(r.p50_ms for r in rounds),
                "p99_ms": statistics.median(r.p99_ms for r in rounds),
                "cpu_ms_per_request": statistics.median(r.cpu_ms_per_request for r in rounds),
                "failed": sum(r.failed for r in rounds),
            }
        summary[target.key] = {
            "label": target.label,
            "start_to_ready_s": target.start_s,
            "memory_mb": target.memory_mb,
            "rss_mb": target.rss_mb,
            "scenarios": per,
        }
    return summary


def suite_result(targets: list[Target], scenarios: list[Scenario], results: dict, rounds: int, seconds: float) -> dict:
    """A suite's section of the results: when, how long, and the medians per target."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "rounds": rounds,
        "seconds": seconds,
        "scenarios": [s.key for s in scenarios],
        "targets": summarize(targets, scenarios, results),
    }


def side_by_side(
    workdir: Path,
    venvs: Path,
    scenarios: list[Scenario],
    rounds: int,
    seconds: float,
    wanted: set[str],
    before: tuple[str, Path] | None = None,
    more: Callable[[list[Target], str], list[Target]] | None = None,
) -> tuple[list[Target], dict]:
    """The targets on one registered iris model (`more`: targets added from them and the model's
    name), started, checked to agree, measured; every process stopped after."""
    load.require_wrk()
    mlflow_server = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    collector = OtlpSink()  # where the traced target exports its spans
    targets: list[Target] = []
    triton_server = None
    try:
        model_name = register_iris_model(mlflow_server.url)
        targets = build_targets(workdir, mlflow_server.url, model_name, venvs, wanted, before, collector.url)
        if more is not None:
            targets = more(targets, model_name)
        triton_server = start_targets(targets, workdir)
        check_answers(targets)
        results = measure(targets, scenarios, rounds, seconds)
    finally:
        stop_targets(targets, triton_server)
        processes.stop(mlflow_server)
        collector.close()
    return targets, results


def run(
    workdir: Path,
    venvs: Path,
    rounds: int,
    seconds: float,
    batches: tuple[int, ...],
    wanted: set[str],
    before: tuple[str, Path] | None = None,
) -> dict:
    """`before`: (a revision, its checkout): its model server is measured beside this one (`ours_before`)."""
    scenarios = [Scenario(rows, conns) for rows in batches for conns in CONNECTIONS]
    targets, results = side_by_side(workdir, venvs, scenarios, rounds, seconds, wanted, before)
    return {
        "rounds": rounds,
        "seconds": seconds,
        "scenarios": [s.key for s in scenarios],
        "targets": summarize(targets, scenarios, results),
    }
