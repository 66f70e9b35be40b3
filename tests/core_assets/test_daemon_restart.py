"""The Dagster daemon killed (SIGKILL) in the middle of a release and started again, with a real
MLflow, a real model server and real sensor ticks: the readiness sensor resumes from its stored
cursor, and every version is deployed exactly once, in order, none skipped."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from core_assets.definitions import build_definitions
from core_assets.release.history import alias_moves
from mlops_platform import processes
from mlops_platform.release_watch import served_version, wait_for
from mlops_platform.stack import dagster_home
from tests.core_assets.runs import register
from tests.support import start_daemon, start_server, wired_to

pytestmark = pytest.mark.slow


def _deploy_runs(instance: DagsterInstance) -> list:
    return [r for r in instance.get_runs(RunsFilter(job_name="deploy_job")) if "mlops/version" in r.tags]


def test_daemon_killed_mid_release_resumes_and_deploys_each_version_once(settings, tmp_path):
    server = start_server(
        tmp_path, {"MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri, "MODEL_NAME": settings.model_name}
    )
    settings = wired_to(settings, server.url)
    defs = build_definitions(settings)
    daemons = []
    try:
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            daemons.append(start_daemon(settings, tmp_path / "first"))
            assert register(defs, instance).success  # v1, released by the daemon's readiness sensor
            wait_for("v1 served", lambda: served_version(server.url, "B") == "1")

            assert register(defs, instance).success  # v2: the daemon dies as soon as its deploy run exists
            wait_for(
                "the deploy run of v2",
                lambda: any(r.tags["mlops/version"] == "2" for r in _deploy_runs(instance)),
                poll_s=0.05,
            )
            os.kill(daemons[0].process.pid, signal.SIGKILL)
            daemons[0].process.wait()
            assert register(defs, instance).success  # v3, registered while no daemon runs

            daemons.append(start_daemon(settings, tmp_path / "second"))
            wait_for("v3 served", lambda: served_version(server.url, "B") == "3")
            wait_for("every deploy run done", lambda: all(r.is_finished for r in _deploy_runs(instance)))

            runs = _deploy_runs(instance)
            assert Counter(r.tags["mlops/version"] for r in runs) == {"1": 1, "2": 1, "3": 1}
            assert {r.status for r in runs} == {DagsterRunStatus.SUCCESS}
            assert [m.after_version for m in alias_moves(instance, alias="B")] == ["3", "2", "1"]  # newest first
    finally:
        for daemon in daemons:
            processes.stop(daemon)  # the killed one's code server too
        processes.stop(server)
