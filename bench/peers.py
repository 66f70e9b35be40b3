"""The servers a team would pick instead, each in its own venv, serving the same model file.

- `mlflow models serve` (MLflow's scoring server) on the MLflow model directory;
- Seldon MLServer with its scikit-learn runtime on the same estimator saved with joblib, with its
  default `parallel_workers` (1: a separate inference process) and with `parallel_workers=0`;
- BentoML and LitServe, each with a service of its own (`bench/peer_services/`) loading that
  joblib file, with and without their batching.

MLServer pins uvloop 0.21: with uvloop >= 0.22 its parallel workers never become ready
(SeldonIO/MLServer#2286).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

BENTOML, LITSERVE = "1.4.40", "0.2.19"
SERVICES = Path(__file__).parent / "peer_services"
PEER_PACKAGES = {
    "bentoml": [f"bentoml=={BENTOML}", "scikit-learn==1.9.1", "joblib"],
    "litserve": [f"litserve=={LITSERVE}", "scikit-learn==1.9.1", "joblib"],
    "mlflow": ["mlflow==3.17.2", "scikit-learn==1.9.1", "skops"],
    "spark": ["pyspark==4.0.1", "mlflow==3.17.2", "scikit-learn==1.9.1", "skops", "pyarrow"],
    "mlserver": ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop==0.21.0", "scikit-learn==1.9.1"],
}


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def ensure_venv(root: Path, name: str) -> Path:
    """The peer's venv (created once, reused while its package list is unchanged); returns its bin dir."""
    venv = root / name
    stamp = venv / "bench-packages.json"
    wanted = json.dumps(PEER_PACKAGES[name])
    if not (stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([*_uv(), "venv", "-q", "--clear", "-p", sys.executable, str(venv)], check=True)
        subprocess.run(
            [*_uv(), "pip", "install", "-q", "-p", str(venv / "bin" / "python"), *PEER_PACKAGES[name]], check=True
        )
        stamp.write_text(wanted)
    return venv / "bin"


def mlflow_serve_command(bin_dir: Path, model_dir: Path, port: int) -> list[str]:
    return [
        str(bin_dir / "mlflow"),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]


def mlflow_serve_body(rows: list[list[float]], columns: list[str]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()


def mlserver_command(
    bin_dir: Path, workdir: Path, model_file: Path, ports: tuple[int, int, int], parallel_workers: int | None
) -> list[str]:
    """Write MLServer's settings (loopback; HTTP, gRPC and metrics ports) and model settings into `workdir`."""
    model_dir = workdir / "iris"
    model_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "host": "127.0.0.1",
        "http_port": ports[0],
        "grpc_port": ports[1],
        "metrics_port": ports[2],
        "metrics_dir": str(workdir / ".metrics"),
    }  # not its working directory (the repository)
    if parallel_workers is not None:
        settings["parallel_workers"] = parallel_workers
    (workdir / "settings.json").write_text(json.dumps(settings))
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "iris",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": str(model_file)},
            }
        )
    )
    return [str(bin_dir / "mlserver"), "start", str(workdir)]


def kserve_v2_body(rows: list[list[float]]) -> bytes:
    """An inference request of the Open Inference Protocol (KServe v2) that MLServer, Triton (the
    export's names) and this server all take: input `input-0`, output `predict`."""
    flat = [value for row in rows for value in row]
    return json.dumps(
        {
            "inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64", "data": flat}],
            "outputs": [{"name": "predict"}],
        }
    ).encode()


def bentoml_command(bin_dir: Path, port: int) -> list[str]:
    return [
        str(bin_dir / "bentoml"),
        "serve",
        "bentoml_iris:Iris",
        "--working-dir",
        str(SERVICES),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def litserve_command(bin_dir: Path, port: int) -> list[str]:
    return [str(bin_dir / "python"), str(SERVICES / "litserve_iris.py"), str(port)]


PYTHON_PEERS = {"bentoml": bentoml_command, "litserve": litserve_command}
