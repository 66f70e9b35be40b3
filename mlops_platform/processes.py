"""Start local servers as process groups we own, wait until they answer, stop them by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

# Telemetry off everywhere we start things (Dagster's is off in the instance's dagster.yaml).
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


class ServiceError(RuntimeError):
    pass


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    url: str
    log_path: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(n: int) -> tuple[int, ...]:
    """`n` distinct free ports: each held until all are found (one after the other, the kernel
    may hand the same port out twice)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return tuple(sock.getsockname()[1] for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _default_signals() -> None:
    # A child inherits ignored SIGINT/SIGTERM from a non-interactive shell; dagster dev would
    # then copy the ignored handler and could never be stopped.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(name: str, cmd: list[str], log_path: Path, url: str, env: dict[str, str] | None = None) -> Service:
    """Start `cmd` in its own session (so it, and only it, is ours to stop), logging to a file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **QUIET_ENV, **(env or {})},
            start_new_session=True,
            preexec_fn=_default_signals,
        )
    return Service(name, process, url, log_path)


def wait_until(service: Service, ready: Callable[[], bool], timeout_s: float) -> float:
    """Poll `ready` until it holds, failing early if the service exits; returns seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if service.process.poll() is not None:
            raise ServiceError(f"{service.name} exited with {service.process.returncode}; see {service.log_path}")
        if ready():
            return time.monotonic() - started
        time.sleep(0.3)
    raise ServiceError(f"{service.name} not ready after {timeout_s:.0f}s; see {service.log_path}")


def wait_ready(service: Service, health_path: str, timeout_s: float) -> float:
    """Wait until the service answers 200 on `health_path`; returns seconds waited."""

    def answers() -> bool:
        try:
            return httpx.get(service.url + health_path, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return wait_until(service, answers, timeout_s)


def start_ready(
    name: str,
    cmd: list[str],
    log_path: Path,
    url: str,
    health_path: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 120,
) -> Service:
    """Start a service and wait until it answers; if it never does, stop it before raising."""
    service = start(name, cmd, log_path, url, env)
    try:
        wait_ready(service, health_path, timeout_s)
    except BaseException:
        stop(service)
        raise
    return service


def start_redis(data_dir: Path) -> Service:
    """Debian's `redis-server` on a loopback port, nothing persisted, ready (its `url` is redis://)."""
    import redis  # the feast layer's client: only where a Redis is started

    port = free_port()
    service = start(
        "redis",
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        data_dir / f"redis-{port}.log",
        f"redis://127.0.0.1:{port}",
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)

    def pings() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_until(service, pings, 10)
    except BaseException:
        stop(service)
        raise
    return service


def stop(service: Service, timeout_s: float = 20) -> None:
    """Interrupt the service's process group, escalate to SIGTERM then SIGKILL, and reap it; what
    is left of the group goes too, also when its leader had already exited (killed alone)."""
    process = service.process
    if process.poll() is not None:
        # a group's id is never handed out while the group has members: with no process of that
        # number, members left are the leader's children; with one, the number is someone else's now
        if not Path(f"/proc/{process.pid}").exists():
            _kill_group(process.pid)
        return
    for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    _kill_group(process.pid)  # leftovers of the group (e.g. server workers) go with their leader


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def mlflow_server_command(
    state_dir: Path, port: int, artifacts_destination: str = "", allowed_hosts: str = "", host: str = "127.0.0.1"
) -> list[str]:
    """A real MLflow server whose artifacts are proxied through it (clients need no store credentials).

    Locally: SQLite and artifacts under `state_dir`. With an `artifacts_destination` (e.g.
    `s3://bucket/mlflow`), the backend store is `MLFLOW_BACKEND_STORE_URI` from the server's
    environment: a secret, never on the command line. Only `allowed_hosts` (default: this loopback
    port) are answered, against DNS rebinding.
    """
    store = state_dir / "mlflow"
    (store / "artifacts").mkdir(parents=True, exist_ok=True)
    stores = (
        ["--artifacts-destination", artifacts_destination]
        if artifacts_destination
        else [
            "--backend-store-uri",
            f"sqlite:///{store / 'mlflow.db'}",
            "--artifacts-destination",
            str(store / "artifacts"),
        ]
    )
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        *stores,
        "--allowed-hosts",
        allowed_hosts or f"127.0.0.1:{port},localhost:{port}",
    ]


def mlflow_artifact_path(state_dir: Path, artifact_uri: str) -> Path:
    """Where a local server of `mlflow_server_command` keeps an `mlflow-artifacts:/` URI's files."""
    return state_dir / "mlflow" / "artifacts" / artifact_uri.removeprefix("mlflow-artifacts:/")


# ~0.5 GB instead of ~2.6 GB: no background job workers
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def start_mlflow(state_dir: Path, port: int) -> Service:
    """A real MLflow server (SQLite backend, proxied local artifacts) on a loopback port, ready."""
    return start_ready(
        "mlflow",
        mlflow_server_command(state_dir, port),
        state_dir / f"mlflow-{port}.log",
        f"http://127.0.0.1:{port}",
        "/health",
        MLFLOW_SERVER_ENV,
    )
