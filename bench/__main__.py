"""`./mlops bench` (or `python -m bench`): the whole benchmark harness, results as markdown and JSON."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench import report, serving

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": len(__import__("os").sched_getaffinity(0)), "python": sys.version.split()[0],
            "kernel": platform.release()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mlops bench", description=__doc__)
    parser.add_argument("--suites", default="serving", help="comma-separated: serving")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--batches", default="1,100,1000,10000", help="rows per request")
    parser.add_argument("--targets", default="", help="serving targets to run (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    suites = set(args.suites.split(","))
    results = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    venvs = ROOT / ".mlops" / "bench" / "venvs"
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        if "serving" in suites:
            results["serving"] = serving.run(
                Path(tmp) / "serving", venvs, args.rounds, args.seconds,
                tuple(int(b) for b in args.batches.split(",")), set(filter(None, args.targets.split(","))),
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2))
    markdown = report.render(results)
    (args.out / "latest.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
