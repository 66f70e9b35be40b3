"""A server started on the server core, and its time to ready measured to 20 ms; a bench target
started STARTS times, its time to ready their median.

The platform's `processes.start_ready` polls every 0.3 s with a new httpx client per probe (an SSL
context each, ~20-40 ms of CPU): fine for tests, but it rounds a ~2 s start up by as much as 15%
and its probes may share the core the server starts on. Here one cheap request every 20 ms on a
kept-alive connection (the registry client's transport), made from the client core.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from bench import load
from mlops_base.http_transport import NoAnswer, Transport
from mlops_platform import processes

if TYPE_CHECKING:
    from bench.targets import Target

POLL_S = 0.02
STARTS = 3  # starts per target; its time to ready is their median


def start_timed(
    name: str, command: list[str], log_path: Path, url: str, ready_path: str, env: dict[str, str], timeout_s: float
) -> tuple[processes.Service, float]:
    """The service (pinned to the server core) once it answers 200 on `ready_path`, and the seconds
    from launch to that answer (imports and model loading included)."""
    started = time.monotonic()
    service = processes.start(name, ["taskset", "-c", load.SERVER_CORE, *command], log_path, url, env)
    try:
        _wait(service, ready_path, started + timeout_s)
    except BaseException:
        processes.stop(service)
        raise
    return service, time.monotonic() - started


def _wait(service: processes.Service, path: str, deadline: float) -> None:
    probe = Transport(service.url, timeout_s=2)
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(load.CLIENT_CORE)})  # this thread only: the probes off the server's core
    try:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise processes.ServiceError(f"{service.name} exited; see {service.log_path}")
            with suppress(NoAnswer):
                if probe.request("GET", path)[0] == 200:
                    return
            time.sleep(POLL_S)
    finally:
        os.sched_setaffinity(0, affinity)
        probe.close()
    raise processes.ServiceError(f"{service.name} not ready in time; see {service.log_path}")


def start(target: Target, workdir: Path) -> None:
    """Start pinned to the server core, STARTS times (the last one kept running); the time to ready,
    imports and model loading included, is their median: one start moved ~0.2 s between two
    targets of the same code and config."""
    port = processes.free_port()
    command = target.command(port)  # may create a peer's venv: not part of its start-up time
    times = []
    for attempt in range(STARTS):
        service, took = start_timed(
            target.key,
            command,
            workdir / f"{target.key}.log",
            f"http://127.0.0.1:{port}",
            target.ready_path,
            target.env,
            timeout_s=180,
        )
        times.append(took)
        if attempt < STARTS - 1:
            processes.stop(service)
    target.service, target.start_s = service, statistics.median(times)
