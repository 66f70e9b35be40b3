"""Release timings on a real throwaway platform (MLflow server, model server, `dagster dev` with its daemon).

- registration -> serving: train_job runs through the webserver, as the UI launches it; from the
  end of its `registered_model_version` step to the end of `served_alias`, which ends once the
  model server answers with the new version;
- commit -> served: the env's training parameters change on disk; the launcher's watcher reloads
  the code location (as `./mlops up` does; on Kubernetes a new image); the automation sees the code version
  change and one run retrains, gates, registers and releases; timed until the server answers with
  the new version;
- failed deploy -> previous version served again: a deploy of a corrupt version is launched; the
  rollback sensor's run restores the alias; timed until the registry and the server are back.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import time
from pathlib import Path

from demo.faults import register_corrupt_version
from mlops_base.mlflow_client import bounded_client
from mlops_base.settings import Settings, load_settings
from mlops_platform import processes
from mlops_platform.dagster_client import DagsterClient
from mlops_platform.env_watch import EnvWatcher
from mlops_platform.release_watch import release_and_wait, served_version, wait_for
from mlops_platform.stack import start_platform, stop_platform

ROOT = Path(__file__).resolve().parents[1]
DAEMON_LOOP_S = 5  # dagster's sensor daemon evaluates sensors at most this often (not configurable)


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "p50_s": statistics.median(values),
        "p95_s": p95,
        "max_s": max(values),
        "values_s": [round(v, 2) for v in values],
    }


def _commit(settings: Settings, c: float) -> None:
    """Change the env's training parameters on disk, as a merged commit would."""
    env_file = settings.env_dir / "platform.env"
    text = re.sub(
        r"^ESTIMATOR_PARAMS=.*$",
        f'ESTIMATOR_PARAMS={{"C": {c}, "max_iter": 500}}',
        env_file.read_text(),
        flags=re.MULTILINE,
    )
    env_file.write_text(text)


def _measure_commits(
    dag: DagsterClient, watcher: EnvWatcher, settings: Settings, server_url: str, commits: int
) -> tuple[list, list]:
    """Seconds from each commit to the new version served, and where they went."""
    took, phases = [], []
    phase = random.Random(1)
    for i in range(commits):
        before = served_version(server_url, settings.target_alias)
        time.sleep(phase.uniform(0, DAEMON_LOOP_S))  # a commit lands at any phase of the daemon's loop
        started = time.time()
        _commit(settings, round(0.5 + 0.1 * i, 2))  # the launcher's watcher reloads the code location
        wait_for("the code location reloaded", lambda i=i: len(watcher.reloaded_at) > i, timeout_s=30, poll_s=0.05)
        reloaded = watcher.reloaded_at[i]
        wait_for(
            "the committed parameters served",
            lambda before=before: served_version(server_url, settings.target_alias) not in (before, None),
            timeout_s=120,
        )
        took.append(time.time() - started)
        [run_id] = [r["runId"] for r in dag.runs() if (r["creationTime"] or 0) > started][-1:]
        dag.wait(run_id)
        [run] = [r for r in dag.runs() if r["runId"] == run_id]
        phases.append(
            {
                "until_code_location_reloaded_s": round(reloaded - started, 2),
                "until_automation_run_created_s": round(run["creationTime"] - reloaded, 2),
                "run_launch_s": round(run["startTime"] - run["creationTime"], 2),
                "run_s": round(run["endTime"] - run["startTime"], 2),
            }
        )
        print(
            f"  commit {i + 1}: served v{served_version(server_url, settings.target_alias)} "
            f"{took[-1]:.1f}s after the commit {phases[-1]}",
            flush=True,
        )
    return took, phases


def _measure_rollbacks(dag: DagsterClient, settings: Settings, server_url: str, faults: int) -> list[float]:
    client = bounded_client(settings.mlflow_tracking_uri)
    took = []
    phase = random.Random(0)
    for i in range(faults):
        before = served_version(server_url, settings.target_alias)
        corrupt = register_corrupt_version(settings)
        # a failure comes at any moment of the sensor daemon's fixed 5-s loop; back to back, the
        # faults would each meet the loop at about the same phase, and the median measure that phase
        time.sleep(phase.uniform(0, DAEMON_LOOP_S))
        started = time.monotonic()
        failed = dag.submit("deploy_job", {"ops": {"served_alias": {"config": {"version": corrupt}}}})

        def restored(failed: str = failed, before: str | None = before) -> bool:
            alias = client.get_registered_model(settings.model_name).aliases.get(settings.target_alias)
            rolled = any(
                {"key": "mlops/failed_run", "value": failed} in r["tags"] and r["status"] == "SUCCESS"
                for r in dag.runs("rollback_job")
            )
            return rolled and alias == before and served_version(server_url, settings.target_alias) == before

        wait_for("the rollback", restored, timeout_s=120, poll_s=0.5)
        took.append(time.monotonic() - started)
        print(f"  failed deploy {i + 1} (v{corrupt}): v{before} served again after {took[-1]:.1f}s", flush=True)
    return took


def run(workdir: Path, releases: int = 10, commits: int = 3, faults: int = 3) -> dict:
    envs = workdir / "envs"
    shutil.copytree(ROOT / "envs", envs)
    os.environ["MLOPS_ENVS_DIR"] = str(envs)  # the platform's processes read this copy, which commits edit
    settings = load_settings(
        "dev",
        mlops_state_dir=workdir / "state",
        mlflow_port=processes.free_port(),
        serving_port=processes.free_port(),
        dagster_port=processes.free_port(),
    )
    settings = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{settings.mlflow_port}"})
    server_url = f"http://127.0.0.1:{settings.serving_port}"
    services = start_platform(settings)
    try:
        dag = DagsterClient(settings.dagster_port)
        served = []
        for _ in range(releases):
            release = release_and_wait(dag, settings, server_url)
            served.append(release.served_after_s)
            print(f"  {release.line()}", flush=True)
        with EnvWatcher(settings.env_dir, dag.reload_location, say=lambda line: None) as watcher:
            commit_s, commit_phases = _measure_commits(dag, watcher, settings, server_url, commits)
        rollback_s = _measure_rollbacks(dag, settings, server_url, faults)
    finally:
        stop_platform(services)
    return {
        "registration_to_serving": percentiles(served),
        "commit_to_served": {**percentiles(commit_s), "phases": commit_phases},
        "failed_deploy_to_previous_served": percentiles(rollback_s),
    }
