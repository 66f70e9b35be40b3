"""served_alias hot-swaps a real model server and verifies it; a server that does not follow fails the asset."""

from __future__ import annotations

import httpx

from core_assets.definitions import build_definitions
from tests.core_assets.runs import register, release, run_job, step_failure
from tests.support import ROW, TOKEN


def test_deploy_hot_swaps_the_server_to_the_new_version(settings, serving, instance):
    wired = build_definitions(settings.model_copy(update={"serving_url": serving.url, "reload_secret_token": TOKEN}))
    assert httpx.get(f"{serving.url}/models").json()["models"]["B"]["version"] == "1"

    release(wired, instance)

    assert httpx.get(f"{serving.url}/models").json()["models"]["B"]["version"] == "2"


def test_train_job_releases_what_it_registers_in_the_same_run(settings, serving, instance):
    wired = build_definitions(settings.model_copy(update={"serving_url": serving.url, "reload_secret_token": TOKEN}))

    trained = run_job(wired, instance, "train_job")

    assert trained.success
    served = [e.asset_key.path[-1] for e in trained.get_asset_materialization_events()]
    # the card last: the release never waits for it
    assert served == ["features", "trained_model", "registered_model_version", "served_alias", "model_card"]
    assert httpx.get(f"{serving.url}/models").json()["models"]["B"]["version"] == "2"
    [check] = [c for c in trained.get_asset_check_evaluations() if c.check_name == "serving_matches_alias"]
    assert check.passed


def test_deploy_fails_when_the_server_refuses(settings, serving, instance):
    wired = build_definitions(settings.model_copy(update={"serving_url": serving.url, "reload_secret_token": "wrong"}))
    assert register(wired, instance).success

    deployed = run_job(wired, instance, "deploy_job")

    assert not deployed.success
    # the alias did move before the swap failed: the move is recorded, and the blocking check fails the run
    [move] = deployed.get_asset_materialization_events()
    moved = move.event_specific_data.materialization.metadata
    assert (moved["before_version"].value, moved["after_version"].value) == ("1", "2")
    [check] = [c for c in deployed.get_asset_check_evaluations() if c.check_name == "serving_matches_alias"]
    assert not check.passed
    assert f"1 of 1 replica(s) do not serve B=v2: {serving.url}" in check.description
    assert "401" in check.description and check.metadata["replicas"].value[serving.url]["error"]
    # (the replica's own watch then follows the registry to v2: tests/serving/test_alias_watch.py)


def test_a_rollback_to_a_deleted_version_is_refused_alerted_and_changes_nothing(
    settings, serving, instance, client, webhook, monkeypatch
):
    url, received = webhook
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    wired = build_definitions(settings.model_copy(update={"serving_url": serving.url, "reload_secret_token": TOKEN}))
    release(wired, instance)  # B: v1 -> v2, served
    client.delete_model_version(settings.model_name, "1")  # the version a rollback would restore is gone

    rollback = {"ops": {"served_alias": {"config": {"alias": "B", "version": "1", "reason": "v2 misbehaves"}}}}
    result = run_job(wired, instance, "rollback_job", rollback)

    assert not result.success
    assert "refused, alias B unchanged" in step_failure(result) and "version 1 does not exist" in step_failure(result)
    [alert] = [a["text"] for a in received if "refused" in a["text"]]
    assert "deploy refused, alias unchanged" in alert and "lever=rollback" in alert and "version=1" in alert
    assert client.get_registered_model(settings.model_name).aliases == {"B": "2"}
    assert httpx.get(f"{serving.url}/models").json()["models"]["B"]["version"] == "2"
    assert httpx.post(f"{serving.url}/variant/B/predict", json={"data": [ROW]}).status_code == 200
