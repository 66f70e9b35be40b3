"""Batch scoring of the churn example (numeric, categorical and boolean columns): the platform's
scorer as the `batch_predictions` asset runs it (`python -m serving.batch`, one worker per core,
the defaults) beside `mlflow models predict` (the CSV it takes) and MLflow's `spark_udf` on local
Spark (`local[*]`, Debian's JRE), the same rows and the same registered version, each in a process
tree of its own: wall time, rows per second, and the peak of the tree's summed resident memory
(sampled every 0.1 s). The churn customers are resampled to `rows` rows with noise on the charges;
the three answers are compared on their first 10,000 rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bench import load, named, peers
from core_assets.lib.data import load_dataset
from mlops_base.registry_rest import RegistryClient
from mlops_base.settings import load_settings
from mlops_platform import processes

ROWS = 10_000_000
CHECKED = 10_000
SPARK = Path(__file__).parent / "peer_services" / "spark_score.py"


def _data(workdir: Path, rows: int) -> tuple[Path, Path]:
    settings = load_settings("churn-pipeline")
    frame = load_dataset(settings.dataset, settings.target_column, settings.env_dir).drop(
        columns=[settings.target_column]
    )
    rng = np.random.default_rng(0)
    big = frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
    big["monthly_charges"] = big["monthly_charges"] + rng.normal(0, 1, rows).round(2)
    big["autopay"] = big["autopay"].astype("boolean")
    parquet, csv = workdir / "customers.parquet", workdir / "customers.csv"
    big.to_parquet(parquet, row_group_size=1_000_000)
    big.to_csv(csv, index=False)
    return parquet, csv


def _timed(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run `command` in a session of its own; its wall time and the peak summed RSS of its tree."""
    peak, done = [0.0], threading.Event()
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], load.memory_mb(process.pid, field="Rss"))
                done.wait(0.1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    if code != 0:
        raise RuntimeError(f"{command[:3]} exited {code}: {log.read_text()[-500:]}")
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak[0]}


def run(workdir: Path, venvs: Path, rows: int = ROWS) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    tracking = processes.start_mlflow(workdir / "mlflow", processes.free_port())
    try:
        named.register_churn_model(tracking.url)
        version = RegistryClient(tracking.url).version_by_alias(named.MODEL_NAME, "A")
        model_dir = RegistryClient(tracking.url).download(
            RegistryClient(tracking.url).download_uri(named.MODEL_NAME, version.version), workdir / "model"
        )
        print(f"batch: {rows:,} churn rows...", flush=True)
        parquet, csv = _data(workdir, rows)
        env = {
            **os.environ,
            "MLOPS_ENV": "churn-pipeline",
            "MLFLOW_TRACKING_URI": tracking.url,
            "MODEL_NAME": named.MODEL_NAME,
            "MLOPS_STATE_DIR": str(workdir / "state"),
        }
        ours_out = workdir / "ours.parquet"
        ours = _timed(
            [sys.executable, "-m", "serving.batch", "--version", version.version, "--input", str(parquet),
             "--output", str(ours_out), "--rejects", str(workdir / "ours.rejects.parquet")],
            env, workdir / "ours.log",
        )  # fmt: skip
        mlflow_bin = peers.ensure_venv(venvs, "mlflow")
        mlflow_out = workdir / "mlflow.json"
        mlflow_predict = _timed(
            [str(mlflow_bin / "mlflow"), "models", "predict", "-m", str(model_dir), "-i", str(csv), "-t", "csv",
             "-o", str(mlflow_out), "--env-manager", "local"],
            {**os.environ, "MLFLOW_TRACKING_URI": tracking.url}, workdir / "mlflow.log",
        )  # fmt: skip
        spark_bin = peers.ensure_venv(venvs, "spark")
        spark_out = workdir / "spark"
        spark = _timed(
            [str(spark_bin / "python"), str(SPARK), str(model_dir), str(parquet), str(spark_out)],
            {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": str(spark_bin / "python")},
            workdir / "spark.log",
        )  # fmt: skip
        agree = _agree(ours_out, mlflow_out, spark_out)
    finally:
        processes.stop(tracking)
    return {
        "rows": rows,
        "version": version.version,
        "targets": {"ours": ours, "mlflow models predict": mlflow_predict, "spark_udf (local[*])": spark},
        "agree_on_first_rows": agree,
    }


def _agree(ours: Path, mlflow_json: Path, spark: Path) -> dict[str, int]:
    """Of the first CHECKED rows, how many each peer answers as ours does (spark_udf hands a null
    boolean to the model otherwise than the server does: the churn rows without autopay)."""
    mine = pq.read_table(ours, columns=["prediction"]).slice(0, CHECKED).column(0).to_pylist()
    theirs = json.loads(mlflow_json.read_text())
    theirs = theirs["predictions"] if isinstance(theirs, dict) else theirs
    spark_rows = pq.read_table(spark, columns=["prediction"]).slice(0, CHECKED).column(0).to_pylist()
    return {
        "mlflow models predict": sum(a == str(b) for a, b in zip(mine, theirs[:CHECKED], strict=True)),
        "spark_udf (local[*])": sum(a == str(b) for a, b in zip(mine, spark_rows, strict=True)),
    }


def render(b: dict) -> list[str]:
    ours = b["targets"]["ours"]
    lines = [
        f"{b['rows']:,} rows of the churn example's columns (Parquet; a CSV for `mlflow models predict`), "
        f"the same registered version (v{b['version']}), scored by each; rows per second and the process "
        "tree's peak resident memory; of the first 10,000 rows, how many each answers as ours does.",
        "",
        "| scorer | seconds | rows/s | peak memory | ours is | same answers |",
        "|---|---|---|---|---|---|",
    ]
    for name, found in b["targets"].items():
        speed = b["rows"] / found["seconds"]
        ratio = "-" if name == "ours" else f"{found['seconds'] / ours['seconds']:.1f}x as fast"
        same = f"{b['agree_on_first_rows'][name]:,}" if name in b["agree_on_first_rows"] else "-"
        lines.append(
            f"| {name} | {found['seconds']:.1f} | {speed:,.0f} | {found['peak_rss_mb']:,.0f} MB | {ratio} | {same} |"
        )
    return [*lines, ""]
