"""`./mlops up`: the local platform started, kept up and stopped, nothing outliving the launcher."""

from __future__ import annotations

import signal
import sys
import time

import httpx
from dagster_graphql import DagsterGraphQLClientError

from mlops_base.aliases import Alias
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings
from mlops_platform import processes, release_watch, runtime
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.env_watch import EnvWatcher
from mlops_platform.reaper import Reaper
from mlops_platform.stack import check_ports, say, start_platform, stop_platform


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def first_start(settings: Settings, tracking_uri: str, serving_url: str) -> None:
    """An empty registry gets a first model: train, then the readiness sensor serves it; it becomes champion."""
    client = bounded_client(tracking_uri)
    if client.search_model_versions(f"name='{settings.model_name}'", max_results=1):
        return
    say("  first start: training and releasing the first model (no manual step)...")
    local = settings.model_copy(update={"mlflow_tracking_uri": tracking_uri})
    dag = DagsterClient(settings.dagster_port)
    try:
        release = release_watch.release_and_wait(dag, local, serving_url)
        say(f"  {release.line()}")
        if settings.target_alias == Alias.A:  # released straight to the champion
            return
        if dag.wait(dag.submit("promote_job")) == "SUCCESS":
            served = release.version
            release_watch.wait_for("A served", lambda: release_watch.served_version(serving_url, "A") == served)
            say(f"  promoted v{release.version} to champion A: /predict and /ready answer")
    except (RuntimeError, TimeoutError, httpx.HTTPError, DagsterGraphQLClientError) as exc:
        say(
            f"  warning: the first release did not complete ({exc}); the platform stays up: "
            "see the runs in the Dagster UI"
        )


def up(settings: Settings, replicas: int = 0) -> int:
    """Start the platform and keep it up until Ctrl-C, SIGTERM or a closed terminal (SIGHUP); whatever
    ends the launcher, SIGKILL included, ends every process it started (the reaper sees to it)."""
    check_ports(settings, replicas)
    say(f"mlops: starting env {settings.mlops_env!r} (state: {runtime.shown(settings.state_dir)})")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    reaper = Reaper()
    services: list[processes.Service] = []
    try:
        services = start_platform(settings, replicas, on_start=lambda service: reaper.watch(service.process.pid))
        by_name = {service.name: service.url for service in services}
        runtime.record(settings, by_name)
        # with replicas, the first one is watched: the balancer answers only once the champion is served
        first_start(settings, by_name["mlflow"], by_name.get("serving-1", by_name.get("serving", "")))
        say("\nPlatform up:")
        for service in services:
            say(f"  {service.name:<10} {service.url}")
        watched = f"{settings.env_dir.parent.name}/{settings.env_dir.name}/"
        say(f"Press Ctrl-C to stop. Edits under {watched} reload the code location.")
        with EnvWatcher(settings.env_dir, DagsterClient(settings.dagster_port).reload_location, say):
            while True:
                for service in services:
                    if service.process.poll() is not None:
                        say(f"error: {service.name} exited ({service.process.returncode}); see {service.log_path}")
                        return 1
                time.sleep(1)
    except _Stop:
        say("\nmlops: stopping...")
        return 0
    except processes.ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):  # nothing may abort the clean stop
            signal.signal(sig, signal.SIG_IGN)
        runtime.forget(settings)
        stop_platform(services, on_stop=lambda service: reaper.forget(service.process.pid))
        reaper.close()
        say("mlops: stopped.")
