"""The load generator (wrk, Debian package, with a Lua script) and the server-side meters.

wrk runs on core 1 and the servers on core 0, so on a 2-core machine the client never steals the
server's CPU. CPU time and memory are read from /proc for the server's whole process group
(servers with worker processes count them all); memory is PSS, so shared pages count once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

SERVER_CORE = "0"
CLIENT_CORE = "1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

PACING = """
function delay()
  return %(delay_ms).3f
end
"""

LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%(body)s]==]
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %%d, "duration_us": %%d, "non_2xx": %%d, "socket_errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("the benchmark needs wrk: apt-get install wrk (./mlops bench installs it)")
    return path


@dataclass
class Round:
    requests: int
    seconds: float
    failed: int
    p50_ms: float
    p99_ms: float
    cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / max(self.requests, 1)


def group_pids(leader: int) -> list[int]:
    """Every live process of the process group `leader` leads and their descendants (servers and
    their workers; BentoML starts its workers in sessions of their own)."""
    parents, groups = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)], groups[int(entry.name)] = int(fields[1]), int(fields[2])
    found = {pid for pid, group in groups.items() if group == leader}
    while True:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        if not children:
            return sorted(found)
        found |= children


@contextmanager
def paused(leaders: set[int]) -> Iterator[None]:
    """The process trees of `leaders` stopped (SIGSTOP) for the block: servers that are not being
    measured share its core, and some poll while idle (LitServe's workers: ~20% of the core)."""
    pids = [pid for leader in leaders for pid in group_pids(leader)]
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def cpu_seconds(*leaders: int) -> float:
    """CPU time of the process groups `leaders` lead (a server and the Triton behind it count together)."""
    total = 0
    for pid in (pid for leader in leaders for pid in group_pids(leader)):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def memory_mb(*leaders: int, field: str = "Pss") -> float:
    """Proportional (or, with field="Rss", resident) set size of the whole groups, in MB."""
    kb = 0
    for pid in (pid for leader in leaders for pid in group_pids(leader)):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    kb += int(line.split()[1])
        except OSError:
            continue
    return kb / 1024


def run_wrk(
    url: str,
    body: bytes,
    connections: int,
    seconds: float,
    leader: int | tuple[int, ...],
    rate: float | None = None,
    headers: dict[str, str] | None = None,
) -> Round:
    """One fixed-duration round of POSTs of `body` (with `headers`, e.g. a credential); the server
    groups' CPU time is measured around it.

    With `rate`, each connection waits between requests so that all together send about `rate`/s.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"body": body.decode()})
        for name, value in (headers or {}).items():
            script.write(f'wrk.headers["{name}"] = "{value}"\n')
        if rate:
            script.write(PACING % {"delay_ms": 1000 * connections / rate})
    try:
        leaders = leader if isinstance(leader, tuple) else (leader,)
        cpu_before = cpu_seconds(*leaders)
        out = subprocess.run(
            [
                "taskset",
                "-c",
                CLIENT_CORE,
                require_wrk(),
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = cpu_seconds(*leaders) - cpu_before
    finally:
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    stats = json.loads(line.removeprefix("BENCH "))
    return Round(
        requests=stats["requests"],
        seconds=stats["duration_us"] / 1e6,
        failed=stats["non_2xx"] + stats["socket_errors"],
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        cpu_s=cpu,
    )
