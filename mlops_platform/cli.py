"""`mlops`: start the local platform, materialize, toggle layers, check the traffic split.

The env's settings are loaded once, here, and passed to each command.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import httpx
from dagster_graphql import DagsterGraphQLClientError

from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import REPO_ROOT, Settings, SettingsError, load_settings
from mlops_platform import processes, releases, traffic
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.stack import (
    BIN,
    check_ports,
    dagster_env,
    start_platform,
    stop_platform,
)
from optional_layers import toggle
from optional_layers.state import read_state


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def materialize(settings: Settings, select: str) -> int:
    """Materialize assets into the running platform's instance, so runs show in its UI."""
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", "core_assets.definitions", "--select", select]
    return subprocess.run(command, cwd=REPO_ROOT, env={**os.environ, **dagster_env(settings)}).returncode


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
        release = releases.release_and_wait(dag, local, serving_url)
        print(f"  {release.line()}", flush=True)
        if dag.wait(dag.submit("promote_job")) == "SUCCESS":
            releases.wait_for("A served", lambda: releases.served_version(serving_url, "A") == release.version)
            print(f"  promoted v{release.version} to champion A: /predict and /ready answer", flush=True)
    except (RuntimeError, TimeoutError, httpx.HTTPError, DagsterGraphQLClientError) as exc:
        print(f"  warning: the first release did not complete ({exc}); the platform stays up: "
              f"see the runs in the Dagster UI", flush=True)


def up(settings: Settings) -> int:
    check_ports(settings)
    print(f"mlops: starting env {settings.mlops_env!r} (state: {settings.state_dir})", flush=True)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    services: list[processes.Service] = []
    try:
        services = start_platform(settings)
        first_start(settings, next(s.url for s in services if s.name == "mlflow"))
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


def layers(settings: Settings, action: str, layer: str | None) -> int:
    if action == "list":
        print("\n".join(toggle.describe(settings.mlops_env, read_state(settings.env_dir))))
        return 0
    try:
        print("\n".join(toggle.toggle(settings.env_dir, action, layer)))
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
    sub.add_parser("demo", help="run the one-commit flow headless on a throwaway platform (--releases N)",
                   add_help=False)
    traffic_parser = sub.add_parser("traffic", help="measure the model server's traffic split")
    traffic_parser.add_argument("-n", type=int, default=2000, help="requests to send (default 2000)")
    traffic_parser.add_argument("--url", default=None, help="model server (default: this env's local one)")
    for p in (up_parser, mat_parser, traffic_parser, layers_parser):
        p.add_argument("--env", default=None, help="env under envs/ (default: $MLOPS_ENV or dev)")
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":  # the demo lives outside the product: its own package, its own process
        os.execv(sys.executable, [sys.executable, "-m", "demo", *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        settings = load_settings(args.env)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "up":
        return up(settings)
    if args.command == "layers":
        return layers(settings, args.action, args.layer)
    if args.command == "traffic":
        print(traffic.report((args.url or f"http://127.0.0.1:{settings.serving_port}").rstrip("/"), args.n))
        return 0
    return materialize(settings, args.select)


if __name__ == "__main__":
    sys.exit(main())
