"""Batch scoring on the cluster, validated offline: each partition is a run, and each run its own
Kubernetes Job (the chart's K8sRunLauncher) whose pod requests what the env's settings say; the
daemon's run queue lets at most BATCH_MAX_CONCURRENT batch runs go at once (a backfill of N
partitions queues the rest), the limits in the chart's values equal to the setting; locally, the
instance holds the scoring step's pool to it."""

from __future__ import annotations

import json

import yaml
from dagster import AssetKey

from core_assets.batch import BATCH_POOL, BATCH_TAG, K8S_CONFIG_TAG
from core_assets.definitions import build_definitions
from core_assets.instance import instance_config
from layer_api.manager import LayerManager
from mlops_base.settings import REPO_ROOT, load_settings
from tests.gitops.manifests import ENVS

BATCH_KEY = AssetKey("batch_predictions")


def test_each_env_s_run_queue_holds_batch_runs_to_its_batch_max_concurrent():
    for env in ENVS:
        settings = load_settings(env)
        values = yaml.safe_load((REPO_ROOT / "envs" / env / "dagster" / "values.yaml").read_text())
        assert values["runLauncher"]["type"] == "K8sRunLauncher"  # a run is a Kubernetes Job
        coordinator = values["dagsterDaemon"]["runCoordinator"]
        assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
        limits = coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
        assert {"key": BATCH_TAG, "value": "true", "limit": settings.batch_max_concurrent} in limits, env
        each_backfill = {"key": "dagster/backfill", "value": {"applyLimitPerUniqueValue": True}}
        assert {**each_backfill, "limit": settings.batch_max_concurrent} in limits, env


def test_a_batch_run_s_pod_requests_the_settings_resources_and_carries_the_queue_s_tag():
    settings = load_settings("dev", batch_run_cpu="3", batch_run_memory="6Gi")
    job = build_definitions(settings, LayerManager(settings, set())).resolve_job_def("batch_job")
    assert job.tags[BATCH_TAG] == "true"
    resources = json.loads(job.tags[K8S_CONFIG_TAG])["container_config"]["resources"]  # Dagster keeps it as JSON
    assert resources == {"requests": {"cpu": "3", "memory": "6Gi"}, "limits": {"memory": "6Gi"}}


def test_the_local_instance_holds_the_scoring_step_s_pool_to_batch_max_concurrent():
    settings = load_settings("dev", batch_max_concurrent=3)
    assert instance_config(settings)["concurrency"] == {"pools": {"default_limit": 3}}
    defs = build_definitions(settings, LayerManager(settings, set()))
    assert defs.resolve_assets_def("batch_predictions").get_op_def_for_asset_key(BATCH_KEY).pool == BATCH_POOL
