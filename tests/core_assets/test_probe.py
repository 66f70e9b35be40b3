"""The synthetic probe for real: a real MLflow registry, a version trained and released by the
platform, a real model server (uvicorn). With SYNTHETIC_PROBE_MINUTES set, the schedule is there
and its job's check finds every protocol answering the row recorded at training as recorded; when
the record and the server disagree the check fails, names the protocol and both answers, and the
alerts layer tells a webhook (a real local HTTP server, a stand-in for Slack)."""

from __future__ import annotations

import json

import pytest

from core_assets.definitions import build_definitions
from mlops_base.model_card import PROBE_TAG
from tests.core_assets.runs import run_job

pytestmark = pytest.mark.real


def _probe(defs, instance):
    result = run_job(defs, instance, "probe_job")
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "synthetic_probe"]
    return check


def test_every_protocol_answers_as_recorded_and_a_disagreement_fails_and_alerts(
    settings, serving, instance, client, webhook, monkeypatch
):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    probing = settings.model_copy(update={"serving_url": serving.url, "synthetic_probe_minutes": 5})
    defs = build_definitions(probing)
    assert defs.resolve_schedule_def("synthetic_probe_schedule").cron_schedule == "*/5 * * * *"
    assert "probe_job" not in {job.name for job in build_definitions(settings).resolve_all_job_defs()}  # off by default

    served = client.get_registered_model(settings.model_name).aliases
    passed = _probe(defs, instance)
    assert passed.passed, passed.description
    assert passed.description.startswith(f"{3 * len(served)} answers as recorded from 1 replica(s), slowest ")

    # the record says otherwise than the server: every protocol of that version is named
    version = client.get_model_version_by_alias(settings.model_name, "B")
    recorded = json.loads(client.get_run(version.run_id).data.tags[PROBE_TAG])
    client.set_tag(version.run_id, PROBE_TAG, json.dumps({**recorded, "prediction": 99}))
    failed = _probe(defs, instance)
    assert not failed.passed
    answered = f"v{version.version} answered {recorded['prediction']!r}, recorded 99"
    for path in ("/variant/B/predict", "/v2/models/", "/invocations"):
        assert any(path in part and answered in part for part in failed.description.split("; ")), path
    [told] = [m["text"] for m in received if "synthetic probe failed" in m["text"]]
    assert answered in told and "|Dagster run " in told
