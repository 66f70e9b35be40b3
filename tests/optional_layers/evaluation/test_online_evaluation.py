"""The evaluation layer with real processes: a real MLflow registry and a real uvicorn model server
with the layer on; true iris labels fed back over HTTP; the layer's sensors and asset evaluated by
Dagster against a real instance, its release runs executed for real.

The challenger is a depth-1 decision tree (truly worse on iris than the champion's logistic
regression): judged worse and rolled back through rollback_job; then both aliases serve the same
model (truly equal): left alone. The promotion of a better one runs through the real daemon in the
demo's test (tests/demo/test_flow.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context
from mlflow import MlflowClient

from core_assets.definitions import build_definitions
from core_assets.lib.data import builtin_features
from core_assets.release.history import alias_moves
from mlops_base.settings import REPO_ROOT
from mlops_platform.release_watch import served_version
from mlops_platform.stack import dagster_home
from optional_layers.evaluation.definitions import (
    evaluation_promote_sensor,
    evaluation_rollback_sensor,
    online_evaluation_sensor,
)
from tests.core_assets.runs import run_job
from tests.support import FEEDBACK, FEEDBACK_TOKEN, feedback_auth, layer_server, toggle

pytestmark = pytest.mark.real
LAYER_ENV = {"EVALUATION_MIN_SAMPLES": "30", "AUTO_PROMOTE": "true", "AB_TEST_PERCENT": "50"}


def _feed_true_labels(url: str, rows, labels) -> None:
    """Each source in turn: each row routed once to each variant (client ids tried until the split
    sends it there), its true iris class fed back for both answers by that source. Every source
    sees every row: the decision holds without either of them."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for source in FEEDBACK:
            outcomes = []
            for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
                for alias in ("A", "B"):
                    for attempt in range(100):
                        headers = {"x-client-id": f"{source}-{index}-{attempt}"}
                        answer = client.post("/predict", json={"data": [row]}, headers=headers)
                        assert answer.status_code == 200, answer.text
                        if answer.headers["x-model-variant"] == alias:
                            break
                    outcomes.append({"prediction_id": answer.headers["x-prediction-id"], "label": int(label)})
            accepted = client.post("/feedback", json=outcomes, headers=feedback_auth(source))
            assert accepted.status_code == 200, accepted.text


def _judged(url: str) -> dict:
    return httpx.get(f"{url}/evaluation", headers=feedback_auth()).json()["comparison"]


def _sensor(sensor, instance, defs):
    with build_sensor_context(instance=instance, resources=defs.resources) as context:
        return sensor(context)


@pytest.fixture
def evaluation_env(tmp_path, monkeypatch):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    toggle(envs / "dev", "on", "evaluation")
    for name, value in {"MLOPS_ENVS_DIR": str(envs), "FEEDBACK_TOKEN": FEEDBACK_TOKEN, **LAYER_ENV}.items():
        monkeypatch.setenv(name, value)  # this process (sensors, runs) reads the same env as the server
    return {"MLOPS_ENVS_DIR": str(envs), **LAYER_ENV}


def test_a_worse_challenger_is_rolled_back_and_an_equal_one_left_alone(settings, fresh_model, evaluation_env, tmp_path):
    champion, challenger = fresh_model.versions
    mlflow = MlflowClient(settings.mlflow_tracking_uri)
    mlflow.set_registered_model_alias(fresh_model.name, "B", champion)  # B's release below is a recorded move
    envs = Path(evaluation_env["MLOPS_ENVS_DIR"])
    with layer_server(tmp_path, settings.mlflow_tracking_uri, fresh_model.name, envs, evaluation_env) as (
        server,
        settings,
    ):
        defs = build_definitions(settings)
        features = builtin_features()
        rows, labels = features.x_test.to_numpy().tolist(), features.y_test.to_numpy()
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            release = {"ops": {"served_alias": {"config": {"version": challenger, "reason": "the experiment"}}}}
            assert run_job(defs, instance, "deploy_job", release).success
            assert served_version(server.url, "B") == challenger

            _feed_true_labels(server.url, rows, labels)
            judged = _judged(server.url)
            # the two versions' global importance, from their training runs: the depth-1 tree splits on
            # one column only, so the three it never uses lost all of their share: named as shifted
            importance = httpx.get(f"{server.url}/evaluation", headers=feedback_auth()).json()["importance"]
            assert (importance["champion"]["version"], importance["challenger"]["version"]) == (champion, challenger)
            tree = importance["challenger"]["share"]
            unused = sorted(column for column, share in tree.items() if share == 0.0)
            assert len(unused) == 3 and set(unused) <= set(importance["shifted"]), importance
            assert judged["decision"] == "worse", judged
            assert judged["challenger"]["outcomes"] == judged["champion"]["outcomes"] == 2 * len(rows)
            low, high = judged["difference_interval"]
            assert low < judged["difference"] < high < 0

            # enough new outcomes (152 >= EVALUATION_MIN_NEW_OUTCOMES=50): online_evaluation is materialized, once
            with build_sensor_context(instance=instance, resources=defs.resources) as context:
                materialize = online_evaluation_sensor(context)
                assert isinstance(materialize, RunRequest) and materialize.tags["mlops/trigger"] == "evaluation"
                assert isinstance(online_evaluation_sensor(context), SkipReason)

            promote = _sensor(evaluation_promote_sensor, instance, defs)
            assert isinstance(promote, SkipReason) and "decision: worse" in promote.skip_message
            request = _sensor(evaluation_rollback_sensor, instance, defs)
            assert isinstance(request, RunRequest), request
            assert request.run_key == f"evaluation-worse-A{champion}-B{challenger}"
            assert request.tags["mlops/trigger"] == "evaluation"
            rollback = defs.resolve_job_def("rollback_job").execute_in_process(
                instance=instance, run_config=request.run_config, tags=request.tags
            )
            assert rollback.success
            assert served_version(server.url, "B") == champion
            [move, *_] = alias_moves(instance, alias="B")
            assert (move.lever, move.trigger, move.after_version) == ("rollback", "evaluation", champion)
            assert f"challenger v{challenger} is worse than champion v{champion}" in move.reason
            assert "mSPRT" in move.reason and f"n={2 * len(rows)}" in move.reason

            # the evidence was about v2: B's new version starts with no outcomes of its own
            again = _sensor(evaluation_rollback_sensor, instance, defs)
            assert isinstance(again, SkipReason) and "not yet known" in again.skip_message

            # both aliases now serve the same model: truly equal, left alone
            _feed_true_labels(server.url, rows, labels)
            equal = _judged(server.url)
            assert (equal["decision"], equal["difference"]) == ("not yet known", 0.0), equal
            for sensor in (evaluation_promote_sensor, evaluation_rollback_sensor):
                assert isinstance(_sensor(sensor, instance, defs), SkipReason)

            asset_run = run_job(defs, instance, "online_evaluation_job")
            assert asset_run.success
            [materialization] = asset_run.asset_materializations_for_node("online_evaluation")
            metadata = materialization.metadata
            assert metadata["decision"].value == "not yet known"
            assert f"| B | v{challenger} | {2 * len(rows)} |" in metadata["table"].value
            assert metadata["difference_over_time"].value.startswith("![difference over time](data:image/png;base64,")
