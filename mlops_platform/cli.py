"""`mlops up`: the local platform on its embedded defaults, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from dagster_graphql import DagsterGraphQLClientError

from mlops_platform import demo, processes, traffic
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.mlflow_client import bounded_client
from mlops_platform.settings import REPO_ROOT, Settings, current_env, load_settings

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


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def _dagster_home(settings: Settings) -> Path:
    home = settings.state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)  # generated: always the current defaults
    return home


def _check_ports(settings: Settings) -> None:
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
         "/server_info", {**_dagster_env(settings), **shared_env, "SERVING_URL": serving_url}),
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


def _dagster_env(settings: Settings) -> dict[str, str]:
    """What Dagster processes of this env need: its instance, state and the local registry."""
    return {
        "DAGSTER_HOME": str(_dagster_home(settings)),
        "MLOPS_ENV": settings.mlops_env,
        "MLOPS_STATE_DIR": str(settings.state_dir),
        "MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{settings.mlflow_port}"),
        "SERVING_URL": os.environ.get("SERVING_URL", f"http://127.0.0.1:{settings.serving_port}"),
    }


def materialize(env: str | None, select: str) -> int:
    """Materialize assets into the running platform's instance, so runs show in its UI."""
    settings = load_settings(env)
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", "core_assets.definitions", "--select", select]
    return subprocess.run(command, cwd=REPO_ROOT, env={**os.environ, **_dagster_env(settings)}).returncode


def first_start(settings: Settings, tracking_uri: str) -> None:
    """An empty registry gets a first model: train, then the readiness sensor serves it; it becomes champion."""
    client = bounded_client(tracking_uri)
    if client.search_model_versions(f"name='{settings.model_name}'", max_results=1):
        return
    print("  first start: training and releasing the first model (no manual step)...", flush=True)
    local = settings.model_copy(update={"mlflow_tracking_uri": tracking_uri})
    dag = DagsterClient(settings.dagster_port)
    serving_url = f"http://127.0.0.1:{settings.serving_port}"
    try:
        release = demo.release_and_wait(dag, local, serving_url)
        print(f"  {release.line()}", flush=True)
        if dag.wait(dag.submit("promote_job")) == "SUCCESS":
            demo.wait_for("A served", lambda: demo.served_version(serving_url, "A") == release.version)
            print(f"  promoted v{release.version} to champion A: /predict and /ready answer", flush=True)
    except (RuntimeError, TimeoutError, httpx.HTTPError, DagsterGraphQLClientError) as exc:
        print(f"  warning: the first release did not complete ({exc}); the platform stays up: "
              f"see the runs in the Dagster UI", flush=True)


def up(env: str | None) -> int:
    settings = load_settings(env)
    _check_ports(settings)
    print(f"mlops: starting env {settings.mlops_env!r} (state: {settings.state_dir})", flush=True)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    services: list[processes.Service] = []
    try:
        services = start_platform(settings)
        first_start(settings, services[0].url)
        print("\nPlatform up:")
        for service in services:
            print(f"  {service.name:<8} {service.url}")
        print("Press Ctrl-C to stop.", flush=True)
        while True:
            for service in services:
                if service.process.poll() is not None:
                    print(f"error: {service.name} exited ({service.process.returncode}); see {service.log_path}")
                    return 1
            time.sleep(1)
    except _Stop:
        print("\nmlops: stopping...", flush=True)
        return 0
    except processes.ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abort the clean stop
        stop_platform(services)
        print("mlops: stopped.", flush=True)


def layers(env: str, action: str, layer: str | None) -> int:
    from optional_layers import toggle

    load_settings(env)  # refuses an unknown env
    if action == "list":
        print("\n".join(toggle.describe(env, toggle.read_state(env))))
        return 0
    try:
        print("\n".join(toggle.toggle(env, action, layer)))
    except toggle.UnknownLayer as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start the local platform (MLflow, model server, Dagster) until Ctrl-C")
    mat_parser = sub.add_parser("materialize", help="materialize assets into the local instance")
    mat_parser.add_argument("--select", default="*", help="asset selection (default: the whole graph)")
    layers_parser = sub.add_parser("layers", help="list optional layers, or turn them on/off per env")
    layers_parser.add_argument("action", choices=["list", "on", "off"])
    layers_parser.add_argument("layer", nargs="?", help="one layer; omitted: the whole optional set")
    demo_parser = sub.add_parser("demo", help="run the one-commit flow headless on a throwaway platform")
    demo_parser.add_argument("--releases", type=int, default=3, help="releases to time (default 3)")
    traffic_parser = sub.add_parser("traffic", help="measure the model server's traffic split")
    traffic_parser.add_argument("-n", type=int, default=2000, help="requests to send (default 2000)")
    traffic_parser.add_argument("--url", default=None, help="model server (default: this env's local one)")
    for p in (up_parser, mat_parser, traffic_parser, layers_parser):
        p.add_argument("--env", default=None, help="env under envs/ (default: $MLOPS_ENV or dev)")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.env)
    if args.command == "layers":
        return layers(args.env or current_env(), args.action, args.layer)
    if args.command == "demo":
        with tempfile.TemporaryDirectory(prefix="mlops-demo-") as state:
            report = demo.run_demo(Path(state), args.releases)
        return 0 if report.rolled_back else 1
    if args.command == "traffic":
        url = args.url or f"http://127.0.0.1:{load_settings(args.env).serving_port}"
        print(traffic.report(url.rstrip("/"), args.n))
        return 0
    return materialize(args.env, args.select)


if __name__ == "__main__":
    sys.exit(main())
