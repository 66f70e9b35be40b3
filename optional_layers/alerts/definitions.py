"""The alerts layer's Dagster part: a run failure sensor posting, for any failed run of the code
location, its job, the step that failed, the first line of its error and a link to the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagster import DefaultSensorStatus, Definitions, RunFailureSensorContext, run_failure_sensor

INTERVAL_S = 10  # a failure is told within ~this (plus the daemon's loop)


def alerts_definitions(post: Callable[[str, dict[str, Any]], bool]) -> Definitions:
    @run_failure_sensor(
        name="run_failure_alerts", minimum_interval_seconds=INTERVAL_S, default_status=DefaultSensorStatus.RUNNING
    )
    def run_failure_alerts(context: RunFailureSensorContext) -> None:
        """Every failed run, told once (the sensor's cursor moves past it)."""
        post("run_failed", failure_payload(context))

    return Definitions(sensors=[run_failure_alerts])


def failure_payload(context: RunFailureSensorContext) -> dict[str, Any]:
    run = context.dagster_run
    failed = context.get_step_failure_events()
    if failed:  # what the step raised, under Dagster's "error occurred while executing" wrapper
        step, cause = failed[0].step_key, failed[0].step_failure_data.error
        while cause.cause is not None:
            cause = cause.cause
        error = cause.message
    else:  # the run failed outside a step (e.g. its process could not start)
        step, error = None, context.failure_event.message or ""
    lines = [line for line in (error or "").splitlines() if line.strip()]
    return {
        "job": run.job_name,
        "step": step,
        "error": lines[0].strip() if lines else "no message",
        "partition": run.tags.get("dagster/partition"),
        "dagster_run_id": run.run_id,
    }
