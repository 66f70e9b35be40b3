"""What `mlops materialize` prints: each step's outcome and the platform's own messages, not the
Dagster CLI's debug events, library warnings, MLflow's download bars and emoji run links. Every line
still goes to the log file the summary names."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mlops_platform import runtime

# `<date> <time> <tz> - dagster - <LEVEL> - <job> - <run id> - [<pid> - ]<step> - [<EVENT> - ]<message>`
DAGSTER_LINE = re.compile(
    r"^\S+ \S+ \S+ - dagster - (?P<level>[A-Z]+) - (?P<job>\S+) - [0-9a-f-]{36} - (?:\d+ - )?(?P<rest>.*)$"
)
# the message of a step's `Failure` (the asset's own words), as the Dagster CLI prints its traceback
FAILURE_LINE = re.compile(r"^dagster\._core\.definitions\.events\.Failure: (?P<why>.+)$")
SHOWN_EVENTS = ("STEP_SUCCESS", "STEP_FAILURE", "ASSET_CHECK_EVALUATION", "RUN_SUCCESS", "RUN_FAILURE", "STEP_SKIPPED")


def condensed(line: str) -> str | None:
    """The line as shown to people, or None when it only goes to the log."""
    found = DAGSTER_LINE.match(line.rstrip("\n"))
    if found is None:
        return None
    level, rest = found["level"], found["rest"]
    if level == "INFO" and " - lifecycle event " in f" {rest}":  # a layer's input; failures (WARNING) show
        return None
    if level in ("INFO", "WARNING", "ERROR", "CRITICAL"):
        return rest
    return rest if any(f" {event} - " in f" {rest}" for event in SHOWN_EVENTS) else None


def run_condensed(command: list[str], log_path: Path, write: Callable[[str], object] = print, **popen) -> int:
    """Run `command`, all its output to `log_path`, the condensed lines to `write`; its exit code."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
        last, any_shown = "", False
        for line in process.stdout:
            log.write(line)
            last = line.strip() or last
            shown = condensed(line)
            if shown is not None:
                write(shown)
                any_shown = True
        code = process.wait()
    if code != 0 and last and not any_shown:  # a failure before any run (e.g. a bad selection)
        write(f"error: {last}")
    elif code != 0 and (reason := failure_reason(log_path)):  # the step's own words, not only "failed"
        write(f"why: {reason}")
    write(f"{'done' if code == 0 else 'failed'}; the full output: {runtime.shown(log_path)}")
    sys.stdout.flush()
    return code


def failure_reason(log_path: Path) -> str | None:
    """The last step failure's message in the run's log, if a step said why."""
    found = None
    with log_path.open() as log:
        for line in log:
            match = FAILURE_LINE.match(line.rstrip("\n"))
            found = match["why"] if match else found
    return found
