"""Sensors evaluated with build_sensor_context against real runs and a real MLflow server."""

from __future__ import annotations

import os
import sqlite3
import time
from urllib.parse import urlparse

from dagster import (
    DagsterEventType,
    RunRequest,
    SensorResult,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
)

from core_assets.definitions import build_definitions
from core_assets.jobs import build_jobs
from core_assets.release.history import alias_moves
from core_assets.sensors import build_sensors
from mlops_base.settings import load_settings
from mlops_platform.processes import free_port
from tests.core_assets.runs import register, release, resources, run_job, step_failure
from tests.delaying_proxy import DelayingProxy

SENSORS = {sensor.name: sensor for sensor in build_sensors(build_jobs(load_settings("dev")))}
readiness_sensor, rollback_sensor, new_data_sensor = (
    SENSORS[name] for name in ("readiness_sensor", "rollback_sensor", "new_data_sensor")
)


def _evaluate(sensor, instance, settings, cursor=None):
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources(settings)) as context:
        result = sensor(context)
        return result, context.cursor


def test_readiness_requests_one_deploy_per_version_then_skips(defs, instance, settings):
    assert register(defs, instance).success

    result, _ = _evaluate(readiness_sensor, instance, settings)
    assert isinstance(result, SensorResult)
    [request] = result.run_requests
    assert request.run_key == f"deploy-{settings.model_name}-v1"
    assert request.run_config["ops"]["served_alias"]["config"]["version"] == "1"

    again, _ = _evaluate(readiness_sensor, instance, settings, cursor=result.cursor)
    assert not again.run_requests
    assert again.skip_reason.skip_message == "no newly registered version"

    assert register(defs, instance).success
    third, _ = _evaluate(readiness_sensor, instance, settings, cursor=again.cursor)
    assert [r.run_config["ops"]["served_alias"]["config"]["version"] for r in third.run_requests] == ["2"]


def test_readiness_leaves_a_version_to_the_run_that_registered_and_released_it(defs, instance, settings):
    assert run_job(defs, instance, "train_job").success  # train_job releases in the same run

    result, _ = _evaluate(readiness_sensor, instance, settings)

    assert not result.run_requests
    assert result.skip_reason.skip_message == "v1 released by the run that registered it"


def test_readiness_request_deploys_that_exact_version(defs, instance, settings, client):
    assert register(defs, instance).success
    result, _ = _evaluate(readiness_sensor, instance, settings)
    assert register(defs, instance).success  # v2 registered meanwhile

    deployed = run_job(defs, instance, "deploy_job", result.run_requests[0].run_config)

    assert deployed.success
    assert client.get_registered_model(settings.model_name).aliases == {"B": "1"}


def _failure_context(instance, failed_run_result, settings):
    run = instance.get_run_by_id(failed_run_result.run_id)
    [event] = [e for e in failed_run_result.all_events if e.event_type == DagsterEventType.RUN_FAILURE]
    return build_run_status_sensor_context(
        sensor_name="rollback_sensor",
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources=resources(settings),
    )


def test_failed_deploy_requests_rollback_to_before_version(defs, instance, settings, client):
    release(defs, instance)  # B -> v1
    broken = build_definitions(settings.model_copy(update={"serving_url": f"http://127.0.0.1:{free_port()}"}))
    assert register(broken, instance).success
    failed = run_job(broken, instance, "deploy_job")
    assert not failed.success
    assert client.get_registered_model(settings.model_name).aliases == {"B": "2"}  # moved, then the swap failed

    request = rollback_sensor(_failure_context(instance, failed, settings).for_run_failure())

    assert isinstance(request, RunRequest)
    config = request.run_config["ops"]["served_alias"]["config"]
    assert config == {"alias": "B", "version": "1", "reason": "deploy of v2 failed"}
    assert run_job(defs, instance, "rollback_job", request.run_config).success
    assert client.get_registered_model(settings.model_name).aliases == {"B": "1"}
    [rollback, failed_move, first] = alias_moves(instance, alias="B")
    assert [m.after_version for m in (first, failed_move, rollback)] == ["1", "2", "1"]
    assert (rollback.lever, failed_move.lever) == ("rollback", "release")


def test_failed_first_deploy_rolls_back_by_removing_the_alias(instance, settings, client):
    broken = build_definitions(settings.model_copy(update={"serving_url": f"http://127.0.0.1:{free_port()}"}))
    assert register(broken, instance).success
    failed = run_job(broken, instance, "deploy_job")

    request = rollback_sensor(_failure_context(instance, failed, settings).for_run_failure())

    assert request.run_config["ops"]["served_alias"]["config"]["remove"] is True
    assert run_job(broken, instance, "rollback_job", request.run_config).success
    assert client.get_registered_model(settings.model_name).aliases == {}


def test_run_failing_before_any_move_is_not_rolled_back(defs, instance, settings):
    failed = run_job(defs, instance, "deploy_job", {"ops": {"served_alias": {"config": {"version": "42"}}}})
    assert not failed.success
    result = rollback_sensor(_failure_context(instance, failed, settings).for_run_failure())
    assert isinstance(result, SkipReason)
    assert "failed before moving any alias" in result.skip_message


def _drop(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    past = time.time() - 10
    os.utime(path, (past, past))
    return path


def test_new_data_sensor_ingests_a_good_file_and_leaves_one_whose_columns_changed(defs, instance, settings):
    incoming = settings.state_dir / "incoming"
    assert isinstance(_evaluate(new_data_sensor, instance, settings)[0], SkipReason)
    rows = "\n".join(f"{5 + i % 3}.1,{3 + i % 2}.0,{1 + 2 * (i % 3)}.4,{0.2 + i % 3},{i % 3}" for i in range(60))
    good = _drop(incoming, "good.csv", "a,b,c,d,target\n" + rows + "\n")
    bad = _drop(incoming, "bad.csv", "a,b,c,target\n" + "x,1,2,0\nyes,3,4,1\n" * 10)  # `a` a string, `d` gone
    (incoming / "writing.csv").write_text("a,target\n")  # still being written: not settled yet

    requests = _evaluate(new_data_sensor, instance, settings)[0]

    by_file = {r.tags["mlops/incoming_file"]: r for r in requests}
    assert set(by_file) == {"good.csv", "bad.csv"}
    ok = run_job(defs, instance, "train_job", by_file["good.csv"].run_config)
    assert ok.success
    assert not good.exists()
    [archived] = list((settings.state_dir / "processed").glob("*-good.csv"))
    assert archived.read_text().startswith("a,b,c,d,target")

    failed = run_job(defs, instance, "train_job", by_file["bad.csv"].run_config)
    assert not failed.success
    assert "rejected, left in place: columns differ from" in step_failure(failed)
    assert "column 'd' (number) is missing; column 'a' was number, is now string" in step_failure(failed)
    assert bad.exists()
    assert not list((settings.state_dir / "processed").glob("*-bad.csv"))


def test_a_failed_rollback_is_not_rolled_back_again(instance, settings):
    broken = build_definitions(settings.model_copy(update={"serving_url": f"http://127.0.0.1:{free_port()}"}))
    assert register(broken, instance).success
    assert register(broken, instance).success
    assert not run_job(broken, instance, "deploy_job", {"ops": {"served_alias": {"config": {"version": "1"}}}}).success
    failed_deploy = run_job(broken, instance, "deploy_job")
    request = rollback_sensor(_failure_context(instance, failed_deploy, settings).for_run_failure())

    failed_rollback = run_job(broken, instance, "rollback_job", request.run_config)  # the server is still down
    assert not failed_rollback.success

    again = rollback_sensor(_failure_context(instance, failed_rollback, settings).for_run_failure())
    assert isinstance(again, SkipReason)
    assert "is itself a rollback; not rolling it back" in again.skip_message


def test_readiness_gives_up_on_a_failed_registration_and_alerts(
    defs, instance, settings, mlflow_state, webhook, monkeypatch
):
    """MLflow's OSS store registers synchronously, so the test marks the real registry's row
    FAILED_REGISTRATION, as an asynchronous registry (or a plugin store) would."""
    url, received = webhook
    assert register(defs, instance).success
    with sqlite3.connect(mlflow_state / "mlflow" / "mlflow.db") as db:
        db.execute("UPDATE model_versions SET status = 'FAILED_REGISTRATION' WHERE name = ?", (settings.model_name,))

    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)  # the alerts layer's own setting
    result, _ = _evaluate(readiness_sensor, instance, settings)

    assert not result.run_requests
    assert result.skip_reason.skip_message == "v1 FAILED_REGISTRATION (alert raised)"
    [alert] = received
    assert "registration failed, not deployed" in alert["text"] and "version=1" in alert["text"]


def test_readiness_skips_while_the_registry_is_down_and_keeps_the_version(defs, instance, settings):
    assert register(defs, instance).success
    down = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}"})

    started = time.monotonic()
    skipped, cursor = _evaluate(readiness_sensor, instance, down)
    waited = time.monotonic() - started

    assert not skipped.run_requests and waited < 30  # the client's bounded retries, not MLflow's minutes
    assert skipped.skip_reason.skip_message.startswith(f"registry {down.mlflow_tracking_uri} unreachable (")
    assert skipped.skip_reason.skip_message.endswith("v1 kept for the next tick")
    back, _ = _evaluate(readiness_sensor, instance, settings, cursor)  # the registry is back: nothing was lost
    assert [r.run_key for r in back.run_requests] == [f"deploy-{settings.model_name}-v1"]


def test_readiness_waits_for_a_slow_registry(defs, instance, settings):
    assert register(defs, instance).success
    proxy = DelayingProxy(urlparse(settings.mlflow_tracking_uri).port, delay_s=2.0)
    try:
        result, _ = _evaluate(
            readiness_sensor, instance, settings.model_copy(update={"mlflow_tracking_uri": proxy.url})
        )
    finally:
        proxy.close()
    assert [r.run_key for r in result.run_requests] == [f"deploy-{settings.model_name}-v1"]
