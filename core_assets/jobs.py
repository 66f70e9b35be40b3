"""Jobs: train (features -> released version, in one run), and the three levers over `served_alias`.

Built from the env's settings where the code location assembles itself: the jobs named in
`K8S_EXECUTOR_JOBS` run each step in its own Kubernetes pod, the others keep the default executor.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from dagster import AssetSelection, define_asset_job

from core_assets.release.levers import LEVER_TAG
from mlops_base.settings import Settings, SettingsError

TRAIN = AssetSelection.assets("features", "trained_model", "registered_model_version", "served_alias", "model_card")
SERVED_ALIAS = AssetSelection.assets("served_alias")


class Jobs(NamedTuple):
    train: Any
    deploy: Any
    rollback: Any
    promote: Any


# name -> what it selects, the lever its runs carry in their tags (whatever the config), what it does
SPECS: dict[str, tuple[AssetSelection, str | None, str]] = {
    "train_job": (
        TRAIN,
        None,
        "Build features, train, gate, register a new model version and release it (one run).",
    ),
    "deploy_job": (
        SERVED_ALIAS,
        "release",
        "Move the target alias to a registered version and hot-swap the server "
        "(config: version, alias, reason; default: the newest registered version).",
    ),
    "rollback_job": (
        SERVED_ALIAS,
        "rollback",
        "Manual lever: point an alias back at an existing READY version "
        "(config: alias, version or remove: true, reason).",
    ),
    "promote_job": (SERVED_ALIAS, "promote", "Manual lever: the champion (A) takes the challenger's (B) version."),
}


def build_jobs(settings: Settings) -> Jobs:
    chosen = {name.strip() for name in settings.k8s_executor_jobs.split(",") if name.strip()}
    unknown = chosen - set(SPECS)
    if unknown:
        raise SettingsError(
            f"K8S_EXECUTOR_JOBS names unknown job(s) {', '.join(sorted(unknown))}; jobs: {', '.join(SPECS)}"
        )
    executor = None
    if chosen:
        from dagster_k8s import k8s_job_executor  # the Kubernetes client costs ~1 s of every run's start-up

        executor = k8s_job_executor
    built = [
        define_asset_job(
            name,
            selection=selection,
            tags={LEVER_TAG: lever} if lever else None,
            description=description,
            executor_def=executor if name in chosen else None,
        )
        for name, (selection, lever, description) in SPECS.items()
    ]
    return Jobs(*built)
