"""The logging layer on, in a real model server and a real Dagster run, shipping to the test Loki
(tests/optional_layers/loki/loki_server.py, a stand-in: Grafana Loki cannot be installed here)."""

from __future__ import annotations

import json
import shutil
import uuid

import httpx
import pytest
from dagster import DagsterInstance

from core_assets.definitions import build_definitions
from core_assets.instance import instance_config
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import processes
from tests.optional_layers.loki.conftest import wait_for
from tests.support import ROW, TOKEN, start_server, toggle


@pytest.fixture
def envs(tmp_path):
    """A copy of the env tree with the logging (and monitoring) layers on, by the real toggle."""
    root = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", root)
    toggle(root / "dev", "on", "logging")
    toggle(root / "dev", "on", "monitoring")
    return root


def _server_env(envs, tmp_path, shared_model, mlflow_server, **extra):
    return {
        "MLOPS_ENVS_DIR": str(envs),
        "MLOPS_STATE_DIR": str(tmp_path / "state"),
        "MLFLOW_TRACKING_URI": mlflow_server,
        "MODEL_NAME": shared_model.name,
        **extra,
    }


def test_the_model_server_ships_json_lines_with_request_ids_and_keeps_a_rotating_file(
    envs, tmp_path, loki, shared_model, mlflow_server
):
    service = start_server(tmp_path, _server_env(envs, tmp_path, shared_model, mlflow_server, LOKI_URL=loki.url))
    try:
        reloaded = httpx.post(
            f"{service.url}/variant/B/reload",
            headers={"authorization": f"Bearer {TOKEN}", "x-request-id": "release-7"},
            timeout=60,
        )
        assert reloaded.status_code == 200 and reloaded.headers["x-request-id"] == "release-7"
        generated = httpx.post(f"{service.url}/predict", json={"data": [ROW]})
        assert len(generated.headers["x-request-id"]) == 32

        def swapped():
            return [e for e in loki.entries() if "now serves" in e[1] and e[2].get("request_id") == "release-7"]

        wait_for(swapped)
        [(labels, line, metadata)] = swapped()
        assert labels == {"env": "dev", "component": "serving", "alias": "B"}
        assert metadata["version"] == shared_model.versions[-1] and metadata["logger"] == "serving.variants"
        assert TOKEN not in json.dumps(loki.pushes)
        metrics = httpx.get(f"{service.url}/metrics").text
        assert "mlops_log_records_dropped_total 0.0" in metrics and "mlops_log_records_sent_total" in metrics
    finally:
        processes.stop(service)
    lines = [json.loads(line) for line in (tmp_path / "state" / "logs" / "serving.jsonl").read_text().splitlines()]
    assert any(r.get("request_id") == "release-7" and r["alias"] == "B" for r in lines)


def test_a_dagster_run_ships_its_log_with_its_run_id(envs, tmp_path, loki, mlflow_server, monkeypatch):
    monkeypatch.setenv("LOKI_URL", loki.url)  # the logging layer's own setting
    settings = load_settings(
        "dev",
        mlflow_tracking_uri=mlflow_server,
        mlflow_experiment="tests",
        serving_url="",
        model_name=f"loki-{uuid.uuid4().hex[:8]}",
        mlops_state_dir=tmp_path / "state",
    ).model_copy(update={"mlops_envs_dir": envs})
    (tmp_path / "dagster").mkdir()
    # the instance `./mlops up` writes (dagster.yaml): its python_logs hands each run's log to the layers
    overrides = {"telemetry": {"enabled": False}, "python_logs": instance_config(settings)["python_logs"]}
    with DagsterInstance.local_temp(str(tmp_path / "dagster"), overrides=overrides) as instance:
        result = (
            build_definitions(settings)
            .resolve_job_def("train_job")
            .execute_in_process(instance=instance, raise_on_error=False)
        )
    assert result.success

    def of_run():
        return [e for e in loki.entries() if e[2].get("run_id") == result.run_id]

    wait_for(lambda: any(e[2].get("step") == "served_alias" for e in of_run()))
    assert {tuple(sorted(e[0].items())) for e in of_run()} == {(("component", "dagster"), ("env", "dev"))}
    steps = [(e[2]["step"], e[1]) for e in of_run()]
    assert any(step == "registered_model_version" and "version_registered" in line for step, line in steps)
    assert any(step == "served_alias" and "moved vnone -> v1" in line for step, line in steps)


def test_while_loki_is_down_every_request_is_answered_and_the_records_stay_in_the_local_file(
    envs, tmp_path, shared_model, mlflow_server
):
    """Loki refusing every push costs the server nothing it answers: each prediction and reload
    gets its 200, the JSON file keeps every record, the failed pushes are counted. (What it costs
    in latency is the bench's to measure, not a test's to time.)"""
    down = f"http://127.0.0.1:{processes.free_port()}"
    service = start_server(tmp_path, _server_env(envs, tmp_path, shared_model, mlflow_server, LOKI_URL=down))
    try:
        with httpx.Client(base_url=service.url) as client:
            statuses = []
            for i in range(400):
                statuses.append(client.post("/predict", json={"data": [ROW]}).status_code)
                if i % 100 == 0:  # a reload logs, and its record goes to the (down) Loki queue
                    reload = client.post(
                        "/variant/B/reload",
                        headers={"authorization": f"Bearer {TOKEN}", "x-request-id": f"reload-{i}"},
                        timeout=60,
                    )
                    statuses.append(reload.status_code)
            assert statuses == [200] * 404

            def failed_pushes() -> float:
                lines = client.get("/metrics").text.splitlines()
                return next(float(line.split()[-1]) for line in lines if line.startswith("mlops_log_pushes_failed"))

            wait_for(lambda: failed_pushes() > 0)
    finally:
        processes.stop(service)
    lines = [json.loads(line) for line in (tmp_path / "state" / "logs" / "serving.jsonl").read_text().splitlines()]
    reloads = {r["request_id"] for r in lines if "now serves" in r.get("message", "") and r.get("request_id")}
    assert reloads == {f"reload-{i}" for i in range(0, 400, 100)}
