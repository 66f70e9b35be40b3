"""The drift layer with real processes: a real MLflow registry, a real uvicorn model server with
the layer on serving a version trained by the platform (its reference profile logged), iris rows
over HTTP; the layer's sensor and asset evaluated by Dagster against a real instance, its alert
posted to a real webhook.

Rows drawn from the training data raise nothing; the same rows with petal length moved by one
standard deviation raise drift on that column (and on the predictions it moves), no other:
`drift_detected` once, `feature_drift` shows it."""

from __future__ import annotations

import shutil

import httpx
import numpy as np
import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from core_assets.definitions import build_definitions
from core_assets.lib.data import builtin_features
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import processes
from mlops_platform.stack import dagster_home
from optional_layers.drift.definitions import drift_sensor, feature_drift_job
from tests.support import TOKEN, start_server, toggle, wired_to

pytestmark = pytest.mark.real
PETAL = "petal length (cm)"


def _send(url: str, rows: np.ndarray, columns: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        for part in np.array_split(rows, max(1, len(rows) // 50)):
            answer = client.post("/variant/A/predict", json={"data": part.tolist()})  # in `columns` order
            assert answer.status_code == 200, answer.text


def _state(server: processes.Service, until) -> dict:
    """/drift once `until` holds (the monitor counts every 0.5 s)."""
    read = lambda: httpx.get(f"{server.url}/drift", headers={"Authorization": f"Bearer {TOKEN}"}).json()  # noqa: E731
    processes.wait_until(server, lambda: until(read()), 30)
    return read()


def test_rows_like_training_raise_nothing_and_a_shifted_column_alerts_once(
    settings, fresh_model, tmp_path, monkeypatch, webhook
):
    webhook_url, received = webhook
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    toggle(envs / "dev", "on", "drift")
    monkeypatch.setenv("MLOPS_ENVS_DIR", str(envs))
    monkeypatch.setenv("RELOAD_SECRET_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook_url)
    server = start_server(
        tmp_path,
        {
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            "MODEL_NAME": fresh_model.name,
            "MLOPS_ENVS_DIR": str(envs),
        },
    )
    try:
        settings = wired_to(
            load_settings(
                "dev",
                mlflow_tracking_uri=settings.mlflow_tracking_uri,
                model_name=fresh_model.name,
                mlops_state_dir=tmp_path / "state",
                mlops_envs_dir=str(envs),
            ),
            server.url,
        )
        defs = build_definitions(settings)
        features = builtin_features()
        columns, train = list(features.x_train.columns), features.x_train.to_numpy()
        rng = np.random.default_rng(0)
        _send(server.url, train[rng.integers(0, len(train), 3_000)], columns)
        state = _state(server, lambda s: s["versions"] and s["versions"][0]["rows"] >= 3_000)
        [version] = [v for v in state["versions"] if "A" in v["aliases"]]
        assert version["status"] == "watching" and version["drifted"] == [], version
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            with build_sensor_context(instance=instance, resources=defs.resources) as context:
                assert isinstance(drift_sensor(context), SkipReason)

                shifted = train[rng.integers(0, len(train), 2_000)].copy()
                shifted[:, columns.index(PETAL)] += features.x_train[PETAL].std()
                _send(server.url, shifted, columns)
                drifted = _state(server, lambda s: any(v["status"] == "drift" for v in s["versions"]))
                found = {c for v in drifted["versions"] for c in v["drifted"]}
                assert PETAL in found <= {PETAL, "prediction"}  # longer petals: more of the larger classes
                request = drift_sensor(context)
                assert isinstance(request, RunRequest) and request.tags["mlops/trigger"] == "drift"
                assert isinstance(drift_sensor(context), SkipReason)  # the same drift alerts once
            [alert] = [m["text"] for m in received if "drifted" in m["text"]]
            assert PETAL in alert and f"version={version['version']}" in alert
            result = defs.resolve_job_def(feature_drift_job.name).execute_in_process(instance=instance)
            assert result.success
            [materialization] = result.asset_materializations_for_node("feature_drift")
            metadata = materialization.metadata
            assert PETAL in metadata["drifted"].value[version["version"]]
            assert f"| {PETAL} |" in metadata["tests"].value and "| drift |" in metadata["tests"].value
    finally:
        processes.stop(server)
