"""The local platform as processes we own: MLflow, the model server and Dagster, wired together.

What the launcher sets for the processes it starts (over the env's files): `MLOPS_ENV`,
`MLOPS_STATE_DIR` and `MLFLOW_TRACKING_URI` for all of them; `DAGSTER_HOME` and `SERVING_URL`
for Dagster.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlops_base.settings import REPO_ROOT, Settings
from mlops_platform import processes

BIN = Path(sys.executable).parent

DAGSTER_YAML = """\
# Local Dagster instance of this env (SQLite storage under this directory).
telemetry:
  enabled: false
# sensors' runs start at once instead of waiting for the queue daemon's next pass
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
"""


def dagster_home(settings: Settings) -> Path:
    home = settings.state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)  # generated: always the current defaults
    return home


def check_ports(settings: Settings) -> None:
    ports = {"MLFLOW_PORT": settings.mlflow_port, "SERVING_PORT": settings.serving_port,
             "DAGSTER_PORT": settings.dagster_port}
    for name, port in ports.items():
        if processes.port_in_use(port):
            raise SystemExit(f"error: port {port} is in use on 127.0.0.1; free it or set {name}=<port>")


def start_platform(settings: Settings) -> list[processes.Service]:
    """Start MLflow, the model server and Dagster, wired to each other; returns them in start order."""
    state, logs = settings.state_dir, settings.state_dir / "logs"
    tracking_uri = f"http://127.0.0.1:{settings.mlflow_port}"
    serving_url = f"http://127.0.0.1:{settings.serving_port}"
    shared_env = {"MLOPS_ENV": settings.mlops_env, "MLOPS_STATE_DIR": str(state), "MLFLOW_TRACKING_URI": tracking_uri}
    plan = [  # name, command, port, health path, extra environment
        ("mlflow", processes.mlflow_server_command(state, settings.mlflow_port), settings.mlflow_port,
         "/health", processes.MLFLOW_SERVER_ENV),
        ("serving", [str(BIN / "uvicorn"), "--factory", "serving.main:create_app",
                     "--host", "127.0.0.1", "--port", str(settings.serving_port)], settings.serving_port,
         "/health", shared_env),
        ("dagster", [str(BIN / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
                     "-h", "127.0.0.1", "-p", str(settings.dagster_port)], settings.dagster_port,
         "/server_info", {**dagster_env(settings), **shared_env, "SERVING_URL": serving_url}),
    ]
    services: list[processes.Service] = []
    try:
        for name, command, port, health, env in plan:
            url = f"http://127.0.0.1:{port}"
            service = processes.start(name, command, logs / f"{name}.log", url, env)
            services.append(service)
            print(f"  {name:<8} starting (log: {service.log_path})", flush=True)
            waited = processes.wait_ready(service, health, timeout_s=180)
            print(f"  {name:<8} ready in {waited:.1f}s   {url}", flush=True)
    except BaseException:
        stop_platform(services)
        raise
    return services


def stop_platform(services: list[processes.Service]) -> None:
    for service in reversed(services):
        print(f"  stopping {service.name} (pid {service.process.pid})", flush=True)
        processes.stop(service)


def dagster_env(settings: Settings) -> dict[str, str]:
    """What Dagster processes of this env need: its instance, state and the local registry."""
    return {
        "DAGSTER_HOME": str(dagster_home(settings)),
        "MLOPS_ENV": settings.mlops_env,
        "MLOPS_STATE_DIR": str(settings.state_dir),
        "MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{settings.mlflow_port}"),
        "SERVING_URL": os.environ.get("SERVING_URL", f"http://127.0.0.1:{settings.serving_port}"),
    }
