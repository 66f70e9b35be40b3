"""The env is decided once: a run's alerts and release metrics follow the settings its Definitions
were built with (here: overridden), not whatever the process environment would load."""

from __future__ import annotations

import shutil

import httpx
from prometheus_client.parser import text_string_to_metric_families

from core_assets.definitions import build_definitions
from mlops_base.settings import REPO_ROOT
from tests.core_assets.runs import run_job
from tests.support import toggle


def test_a_failed_gate_alerts_and_pushes_with_the_runs_overridden_settings(
    settings, instance, webhook, pushgateway, tmp_path, monkeypatch
):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    toggle(envs / "dev", "on", "monitoring")
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)  # the layers' own settings: their env variables
    monkeypatch.setenv("PUSHGATEWAY_URL", pushgateway)
    overridden = settings.model_copy(update={"min_accuracy": 1.01, "mlops_envs_dir": envs})

    result = run_job(build_definitions(overridden), instance, "train_job")

    assert not result.success
    [alert] = received
    assert alert["text"].startswith(":no_entry: quality gate failed") and "threshold=1.01" in alert["text"]
    text = httpx.get(f"{pushgateway}/metrics", timeout=5).text
    samples = [
        s for f in text_string_to_metric_families(text) for s in f.samples if s.name == "mlops_pipeline_events_total"
    ]
    assert [(s.labels["env"], s.labels["event"], s.value) for s in samples] == [("dev", "gate_failed", 1.0)]
