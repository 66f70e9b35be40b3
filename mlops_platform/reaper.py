"""What stops the launcher's process groups when the launcher cannot: it runs in a session of its
own, reads `+<pgid>` (watch) and `-<pgid>` (stopped already) lines from the launcher on stdin, and
when stdin closes (the launcher exited, however it ended: SIGKILL included) it ends every group
still watched, SIGTERM then SIGKILL. `python -m mlops_platform.reaper`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

GRACE_S = 5.0


class Reaper:
    """The launcher's side: start the reaper, tell it each group started and stopped."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mlops_platform.reaper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C and a closed terminal reach the launcher's group, not it
            text=True,
        )

    def _say(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def watch(self, pgid: int) -> None:
        self._say(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self._say(f"-{pgid}")

    def close(self) -> None:
        """Every group is stopped: let the reaper exit (it ends any group still watched)."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(GRACE_S + 10)


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_groups(groups: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in groups:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + GRACE_S
        while any(_alive(g) for g in groups) and time.monotonic() < deadline:
            time.sleep(0.1)


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    groups: list[int] = []
    for line in sys.stdin:
        sign, pgid = line[:1], int(line[1:])
        if sign == "+":
            groups.append(pgid)
        elif pgid in groups:
            groups.remove(pgid)
    end_groups(groups)


if __name__ == "__main__":
    main()
