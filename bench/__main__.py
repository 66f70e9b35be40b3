"""`./mlops bench` (or `python -m bench`): the whole benchmark harness, results as markdown and JSON."""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    batch,
    drift,
    explain,
    feast,
    hotswap,
    named,
    plot,
    protocols,
    ramp,
    releases,
    replicas,
    report,
    serving,
)

ROOT = Path(__file__).resolve().parents[1]
SUITES = (
    "serving", "protocols", "named", "hotswap", "releases", "replicas", "feast", "drift", "ramp", "explain", "batch",
)  # fmt: skip


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": len(__import__("os").sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
    }


def checkout(revision: str) -> Path:
    """A detached worktree of `revision` under .mlops/bench/ (made again each run), with an
    environment of its own: its entry points (the layers' factories) are that revision's."""
    path = ROOT / ".mlops" / "bench" / "before"
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True, check=False)
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True)
    uv = [shutil.which("uv") or sys.executable, *([] if shutil.which("uv") else ["-m", "uv"])]
    subprocess.run([*uv, "sync", "--frozen", "--quiet", "--no-dev", "--compile-bytecode"], cwd=path, check=True)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mlops bench", description=__doc__)
    parser.add_argument(
        "--suites",
        default=",".join(SUITES),
        help=f"comma-separated: {','.join(SUITES)} (a subset updates only those sections of the results)",
    )
    parser.add_argument("--releases", type=int, default=10, help="train_job releases timed")
    parser.add_argument("--commits", type=int, default=3, help="commits timed to served")
    parser.add_argument("--faults", type=int, default=3, help="failed deploys timed to rolled back")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--batches", default="1,100,1000,10000", help="rows per request")
    parser.add_argument("--targets", default="", help="serving targets to run (default: all)")
    parser.add_argument(
        "--before",
        default="",
        help="a git revision: its model server runs beside this tree's (target ours_before), before/after in one run",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    suites = set(args.suites.split(","))
    results = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    venvs = ROOT / ".mlops" / "bench" / "venvs"
    workdir = ROOT / ".mlops" / "bench" / "run"  # kept after the run: the servers' logs are there
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    if "serving" in suites:
        before = (args.before, checkout(args.before)) if args.before else None
        results["serving"] = serving.run(
            workdir / "serving",
            venvs,
            args.rounds,
            args.seconds,
            tuple(int(b) for b in args.batches.split(",")),
            set(filter(None, args.targets.split(","))),
            before,
        )
    if "protocols" in suites:
        print("protocols: v2 and /invocations beside MLServer, Triton and mlflow models serve...", flush=True)
        results["protocols"] = protocols.run(workdir / "protocols", venvs, args.rounds, args.seconds)
    if "named" in suites:
        print("named columns (the churn pipeline example)...", flush=True)
        results["named"] = named.run(workdir / "named", venvs, args.rounds, args.seconds)
    if "hotswap" in suites:
        print("hot-swap under load...", flush=True)
        results["hotswap"] = hotswap.run(workdir / "hotswap")
    if "releases" in suites:
        print("releases: a throwaway platform...", flush=True)
        results["releases"] = releases.run(workdir / "releases", args.releases, args.commits, args.faults)
    if "replicas" in suites:
        print("replicas: three model servers behind HAProxy...", flush=True)
        results["replicas"] = replicas.run(workdir / "replicas", args.releases, args.rounds, args.seconds)
    if "feast" in suites:
        print("feast online lookups...", flush=True)
        results["feast"] = feast.run(workdir / "feast", args.rounds, args.seconds)
    if "drift" in suites:
        results["drift"] = drift.run()
    if "ramp" in suites:
        results["ramp"] = ramp.run()
    if "explain" in suites:
        print("explain: three models explained on the shipped server...", flush=True)
        results["explain"] = explain.run(workdir / "explain", max(args.seconds, 8))
    if "batch" in suites:
        results["batch"] = batch.run(workdir / "batch", venvs)
    args.out.mkdir(parents=True, exist_ok=True)
    latest = args.out / "latest.json"
    if latest.is_file() and suites != set(SUITES):
        # a partial run replaces its own sections; each keeps the time of the run that measured it
        previous = json.loads(latest.read_text())
        for suite in SUITES:
            if suite not in suites and suite in previous:
                results[suite] = {"when": previous["when"], **previous[suite]}
    latest.write_text(json.dumps(results, indent=2))
    markdown = report.render(results)
    (args.out / "latest.md").write_text(markdown)
    if "serving" in results:
        plot.draw({"when": results.get("when", ""), **results["serving"]}, args.out / "serving.png")
    print(markdown)


if __name__ == "__main__":
    main()
