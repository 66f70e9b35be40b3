"""The drift layer with real processes: a real MLflow registry, a real uvicorn model server with
the drift and evaluation layers on serving versions trained by the platform (their reference
profiles logged), iris rows and their true classes over HTTP; the layer's sensors and asset
evaluated by Dagster against a real instance, its runs executed for real, its alert posted to a
real webhook.

Rows drawn from the training data raise nothing; the same rows with petal length moved by one
standard deviation (a sensor recalibrated: the true classes are the unshifted rows') raise drift on
that column (and on the predictions it moves), no other: `drift_detected` once, `feature_drift`
shows it. With AUTO_RETRAIN the drift starts one training run on the dataset plus the labelled
traffic, gated and released as B; a worse trainer is refused by the gate and nothing moves.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import httpx
import numpy as np
import pytest
from dagster import DagsterInstance, Definitions, RunRequest, SkipReason, build_sensor_context
from mlflow import MlflowClient

from core_assets.definitions import build_definitions
from core_assets.lib.data import builtin_features
from core_assets.release.history import alias_moves
from mlops_base.settings import REPO_ROOT, Settings
from mlops_platform import processes
from mlops_platform.release_watch import served_version
from mlops_platform.stack import dagster_home
from optional_layers.drift.definitions import drift_retrain_sensor, drift_sensor, feature_drift_job
from tests.support import FEEDBACK_TOKEN, TOKEN, feedback_auth, layer_server, toggle

pytestmark = pytest.mark.real
PETAL = "petal length (cm)"
LAYER_ENV = {"AUTO_RETRAIN": "true", "PREDICTION_LOG_INPUTS": "all", "FEEDBACK_TOKEN": FEEDBACK_TOKEN}


@dataclass
class Platform:
    server: processes.Service
    settings: Settings
    defs: Definitions


@pytest.fixture
def platform(settings, fresh_model, tmp_path, monkeypatch, webhook):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    for layer in ("drift", "evaluation"):
        toggle(envs / "dev", "on", layer)
    env = {"MLOPS_ENVS_DIR": str(envs), "RELOAD_SECRET_TOKEN": TOKEN, "SLACK_WEBHOOK_URL": webhook[0], **LAYER_ENV}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # this process (sensors, runs) reads the same env as the server
    with layer_server(tmp_path, settings.mlflow_tracking_uri, fresh_model.name, envs, env) as (server, wired):
        yield Platform(server, wired, build_definitions(wired))


def _send(url: str, rows: np.ndarray, labels: np.ndarray | None = None) -> None:
    """The rows in requests of 50 to the champion; with `labels`, each request's true classes fed back."""
    with httpx.Client(base_url=url, timeout=30) as client:
        outcomes = []
        for part in np.array_split(np.arange(len(rows)), max(1, len(rows) // 50)):
            answer = client.post("/variant/A/predict", json={"data": rows[part].tolist()})  # in the columns' order
            assert answer.status_code == 200, answer.text
            if labels is not None:
                outcomes.append({"prediction_id": answer.headers["x-prediction-id"], "label": labels[part].tolist()})
        if outcomes:
            fed = client.post("/feedback", json=outcomes, headers=feedback_auth())
            assert fed.status_code == 200, fed.text


def _state(server: processes.Service, until) -> dict:
    """/drift once `until` holds (the monitor counts every 0.5 s); else the last one read, in the failure."""
    last: list[dict] = [{}]

    def holds() -> bool:
        last[0] = httpx.get(f"{server.url}/drift", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        return bool(until(last[0]))

    try:
        processes.wait_until(server, holds, 30)
    except processes.ServiceError as exc:
        raise AssertionError(f"{exc}; /drift said {last[0]}") from exc
    return last[0]


def _shifted(rows: np.ndarray, columns: list[str], by: float) -> np.ndarray:
    moved = rows.copy()
    moved[:, columns.index(PETAL)] += by
    return moved


def _drifted(platform: Platform, rng, labelled: bool) -> dict:
    """Unchanged rows (no drift), then shifted ones with their true classes: the drifted /drift."""
    features = builtin_features()
    columns, train, truth = list(features.x_train.columns), features.x_train.to_numpy(), features.y_train.to_numpy()
    _send(platform.server.url, train[rng.integers(0, len(train), 3_000)])
    # every row answered and counted (tested rows show at each look: the last few may wait for the next)
    state = _state(platform.server, lambda s: s["versions"] and s["versions"][0]["answered_rows"] >= 3_000)
    [version] = [v for v in state["versions"] if "A" in v["aliases"]]
    assert version["status"] == "watching" and version["drifted"] == [], version
    drawn = rng.integers(0, len(train), 2_000)
    shifted = _shifted(train[drawn], columns, features.x_train[PETAL].std())
    _send(platform.server.url, shifted, truth[drawn] if labelled else None)
    return _state(platform.server, lambda s: any(v["status"] == "drift" for v in s["versions"]))


def test_rows_like_training_raise_nothing_and_a_shifted_column_alerts_once(platform, webhook):
    rng = np.random.default_rng(0)
    with DagsterInstance.from_config(str(dagster_home(platform.settings))) as instance:
        with build_sensor_context(instance=instance, resources=platform.defs.resources) as context:
            assert isinstance(drift_sensor(context), SkipReason)
            drifted = _drifted(platform, rng, labelled=False)
            [version] = [v for v in drifted["versions"] if v["status"] == "drift"]
            assert PETAL in version["drifted"] and set(version["drifted"]) <= {PETAL, "prediction"}
            request = drift_sensor(context)
            assert isinstance(request, RunRequest) and request.tags["mlops/trigger"] == "drift"
            assert isinstance(drift_sensor(context), SkipReason)  # the same drift alerts once
        [alert] = [m["text"] for m in webhook[1] if "drifted" in m["text"]]
        assert PETAL in alert and f"version={version['version']}" in alert
        result = platform.defs.resolve_job_def(feature_drift_job.name).execute_in_process(instance=instance)
        assert result.success
        [materialization] = result.asset_materializations_for_node("feature_drift")
        metadata = materialization.metadata
        assert PETAL in metadata["drifted"].value[version["version"]]
        assert f"| {PETAL} |" in metadata["tests"].value and "| drift |" in metadata["tests"].value


def test_a_drift_retrains_on_the_labelled_traffic_through_the_gate_and_a_worse_trainer_is_refused(
    platform, fresh_model
):
    registry = MlflowClient(platform.settings.mlflow_tracking_uri)
    before = registry.get_registered_model(fresh_model.name).aliases["B"]
    with DagsterInstance.from_config(str(dagster_home(platform.settings))) as instance:
        with build_sensor_context(instance=instance, resources=platform.defs.resources) as context:
            assert isinstance(drift_retrain_sensor(context), SkipReason)  # no drift yet: no run
            _drifted(platform, np.random.default_rng(1), labelled=True)
            request = drift_retrain_sensor(context)
            assert isinstance(request, RunRequest), request
            cooling = drift_retrain_sensor(context)
            assert isinstance(cooling, SkipReason) and "DRIFT_COOLDOWN" in cooling.skip_message

        worse = build_definitions(
            platform.settings.model_copy(update={"estimator": "sklearn.dummy.DummyClassifier", "estimator_params": {}})
        )
        refused = worse.resolve_job_def("train_job").execute_in_process(
            instance=instance, run_config=request.run_config, tags=request.tags, raise_on_error=False
        )
        [gate] = [c for c in refused.get_asset_check_evaluations() if c.check_name == "quality_gate"]
        assert not refused.success and not gate.passed  # refused by the gate: nothing registered, B where it was
        assert registry.get_registered_model(fresh_model.name).aliases["B"] == before

        result = platform.defs.resolve_job_def("train_job").execute_in_process(
            instance=instance, run_config=request.run_config, tags=request.tags
        )
        assert result.success
        [features] = result.asset_materializations_for_node("features")
        assert features.metadata["labelled_traffic_rows"].value == 2_000
        released = registry.get_registered_model(fresh_model.name).aliases["B"]
        assert released not in (before, *fresh_model.versions)
        assert served_version(platform.server.url, "B") == released
        [move, *_] = alias_moves(instance, alias="B")
        assert (move.after_version, move.trigger) == (released, "drift")
