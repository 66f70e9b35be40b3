"""Stopping a service stops its whole process group, also after its leader was killed alone."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from mlops_platform import processes


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped by init."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_leader_killed_alone_leaves_no_child_behind_once_stopped(tmp_path):
    pid_file = tmp_path / "child.pid"  # the leader starts a child in its group, says its pid, waits
    service = processes.start("group", ["sh", "-c", f"sleep 300 & echo $! > {pid_file}; wait"], tmp_path / "log", "")
    processes.wait_until(service, lambda: pid_file.exists() and pid_file.read_text().strip() != "", 10)
    child = int(pid_file.read_text())
    os.kill(service.process.pid, signal.SIGKILL)  # the leader dies alone, as a killed daemon does
    service.process.wait()
    assert _running(child)

    processes.stop(service)

    deadline = time.monotonic() + 5
    while _running(child):
        assert time.monotonic() < deadline, "the child of the killed leader survived stop()"
        time.sleep(0.05)


def test_free_ports_are_distinct():
    for _ in range(50):
        ports = processes.free_ports(3)
        assert len(set(ports)) == 3 and all(ports)
