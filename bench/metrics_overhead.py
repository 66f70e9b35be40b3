"""Cost of the monitoring layer: /predict throughput with metrics on vs off, side by side.

Starts a real MLflow server, registers a model, then two uvicorn model servers that differ only in
the monitoring layer (toggled in a copy of the env tree), and drives both with `wrk` (Debian
package) in alternating rounds (server pinned to core 0, wrk to core 1). Prints requests/s per round and the ratio of the medians.

    .venv/bin/python bench/metrics_overhead.py [--rounds 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.models import register_iris_model  # noqa: E402
from mlops_platform import processes  # noqa: E402

TOKEN = "bench-reload-token-0123456789"

LUA = """wrk.method = "POST"
wrk.body = '{"data": [[5.1, 3.5, 1.4, 0.2]]}'
wrk.headers["Content-Type"] = "application/json"
"""


def wrk(url: str, seconds: int, script: Path) -> float:
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", "-c8", f"-d{seconds}s", "-s", str(script), f"{url}/variant/A/predict"],
        capture_output=True, text=True, check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the benchmark:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        tmp_path = Path(tmp)
        envs_on = tmp_path / "envs-on"
        shutil.copytree(ROOT / "envs", envs_on)
        subprocess.run([str(Path(sys.executable).parent / "mlops"), "layers", "on", "monitoring"],
                       env={**os.environ, "MLOPS_ENVS_DIR": str(envs_on)}, check=True, capture_output=True)
        script = tmp_path / "predict.lua"
        script.write_text(LUA)
        mlflow = processes.start_mlflow(tmp_path / "mlflow", processes.free_port())
        servers = []
        try:
            common = {"MLFLOW_TRACKING_URI": mlflow.url, "MODEL_NAME": register_iris_model(mlflow.url),
                      "RELOAD_SECRET_TOKEN": TOKEN, "MLOPS_ENV": "dev"}
            off = processes.start_model_server(tmp_path, common)
            servers.append(off)
            on = processes.start_model_server(tmp_path, {**common, "MLOPS_ENVS_DIR": str(envs_on)})
            servers.append(on)
            for server in servers:  # server on core 0, load generator on core 1: less noise on 2 cores
                os.sched_setaffinity(server.process.pid, {0})
            assert processes.httpx.get(f"{on.url}/metrics").status_code == 200
            assert processes.httpx.get(f"{off.url}/metrics").status_code == 404
            wrk(off.url, 2, script), wrk(on.url, 2, script)  # warm-up
            results: dict[str, list[float]] = {"off": [], "on": []}
            for i in range(args.rounds):
                for name, server in (("off", off), ("on", on)) if i % 2 == 0 else (("on", on), ("off", off)):
                    results[name].append(wrk(server.url, args.seconds, script))
                print(f"round {i + 1}: off {results['off'][-1]:.0f} req/s, on {results['on'][-1]:.0f} req/s", flush=True)
        finally:
            for service in servers:
                processes.stop(service)
            processes.stop(mlflow)
    off_median, on_median = statistics.median(results["off"]), statistics.median(results["on"])
    print(f"median: metrics off {off_median:.0f} req/s, on {on_median:.0f} req/s; "
          f"ratio on/off = {on_median / off_median:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
