"""`mlops demo`: the one-commit flow, headless, on a throwaway platform, with timings.

Train, gate, register, READY, served (by the readiness sensor), traffic split, then an injected
deploy failure (a corrupt artifact) that the rollback sensor must undo, an online experiment
whose fed-back outcomes get the challenger promoted by the evaluation layer, and a drift: the
platform restarted with the drift layer on retrains on the labelled traffic and releases it as B.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from core_assets.lib.data import builtin_features
from demo.drift_scene import env_with_drift, run_drift_scene
from demo.experiment import (
    SOURCES,
    env_with_evaluation,
    feedback_credentials,
    feedback_setting,
    promotion_runs,
    run_experiment,
)
from demo.faults import register_corrupt_version
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import load_settings
from mlops_platform import processes, traffic
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.release_watch import release_and_wait, served_version, wait_for
from mlops_platform.stack import start_platform, stop_platform


@dataclass
class DemoReport:
    lines: list[str] = field(default_factory=list)
    serve_times: list[float] = field(default_factory=list)
    rolled_back: bool = False
    evaluation: dict | None = None  # the final /evaluation of the experiment
    drift_release_s: float | None = None  # from the confirmed drift to its retrained version served as B

    def add(self, line: str) -> None:
        self.lines.append(line)
        print(f"  {line}", flush=True)

    def summary(self) -> str:
        median = statistics.median(self.serve_times)
        samples = ", ".join(f"{t:.1f}s" for t in self.serve_times)
        return f"registration -> serving: median {median:.1f}s over {len(self.serve_times)} releases ({samples})"


def run_demo(state_dir: Path, releases: int = 3) -> DemoReport:
    tokens = feedback_credentials()
    # the settings and the platform's processes read it from the environment (never argv, never a
    # file), set for the demo's run only
    before = os.environ.get("FEEDBACK_TOKEN")
    os.environ["FEEDBACK_TOKEN"] = feedback_setting(tokens)
    try:
        return _run_demo(state_dir, releases, tokens)
    finally:
        if before is None:
            del os.environ["FEEDBACK_TOKEN"]
        else:
            os.environ["FEEDBACK_TOKEN"] = before


def _run_demo(state_dir: Path, releases: int, tokens: dict[str, str]) -> DemoReport:
    settings = load_settings(
        "dev",
        mlops_state_dir=state_dir,
        mlops_env_dir=env_with_evaluation(load_settings("dev").env_dir, state_dir),
        mlflow_port=processes.free_port(),
        serving_port=processes.free_port(),
        dagster_port=processes.free_port(),
    )
    settings = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{settings.mlflow_port}"})
    server_url = f"http://127.0.0.1:{settings.serving_port}"
    report = DemoReport()
    print(f"mlops demo: a throwaway platform in {state_dir}", flush=True)
    services = start_platform(settings)
    try:
        dag = DagsterClient(settings.dagster_port)
        client = bounded_client(settings.mlflow_tracking_uri)
        for i in range(releases):
            release = release_and_wait(dag, settings, server_url)
            report.serve_times.append(release.served_after_s)
            report.add(release.line())
            if i == 0:
                started = time.monotonic()
                dag.wait(dag.submit("promote_job"))
                wait_for("A served", lambda version=release.version: served_version(server_url, "A") == version)
                report.add(f"promote: champion A = v{release.version} ({time.monotonic() - started:.1f}s)")
        for line in traffic.report(server_url, 1000).text.splitlines():
            report.add(f"traffic | {line}")

        before = served_version(server_url, "B")
        corrupt = register_corrupt_version(settings)
        started = time.monotonic()
        failed_run = dag.submit("deploy_job", {"ops": {"served_alias": {"config": {"version": corrupt}}}})
        status = dag.wait(failed_run)
        report.add(
            f"injected failure: deploy of v{corrupt} (corrupt artifact) ended {status} "
            f"after {time.monotonic() - started:.1f}s; server still serves B=v{served_version(server_url, 'B')}"
        )
        wait_for(
            "the rollback run",
            lambda: any(
                {"key": "mlops/failed_run", "value": failed_run} in r["tags"] and r["status"] == "SUCCESS"
                for r in dag.runs("rollback_job")
            ),
        )
        alias_b = client.get_registered_model(settings.model_name).aliases.get("B")
        serving_b = served_version(server_url, "B")
        report.rolled_back = alias_b == before and serving_b == before
        report.add(
            f"rolled back after {time.monotonic() - started:.1f}s: registry B=v{alias_b}, "
            f"server B=v{serving_b} (before the failed deploy: v{before})"
        )
        report.add(report.summary())
        report.evaluation = run_experiment(
            server_url, builtin_features().x_test.to_numpy().tolist(), tokens, report.add
        )
        for run in promotion_runs(dag):  # the alias is served before its run records its end
            report.add(f"promote_job run {run['runId'][:8]} {dag.wait(run['runId'])}, trigger evaluation")

        stop_platform(services)
        env_with_drift(settings.env_dir)
        print("mlops demo: the platform again, with the drift layer on and AUTO_RETRAIN=true", flush=True)
        services = start_platform(settings)
        report.drift_release_s = run_drift_scene(
            server_url, dag, settings.reload_secret_token, tokens[SOURCES[0]], report.add
        )
    finally:
        stop_platform(services)
    return report
