"""An attack on the evidence the evaluation layer promotes on, every component real: an MLflow
registry, a uvicorn model server with the layer on, a Dagster daemon ticking the layer's sensors
with AUTO_PROMOTE on. The attacker tries to get a truly worse challenger (a depth-1 tree against a
logistic regression) promoted: unauthenticated feedback, forged, guessed and pre-claimed prediction
ids, traffic addressed to each variant with favourable labels from two sources, and 10,000 labels
flipped in the challenger's favour from the one credential it holds. No decision, no alias moves.
(Honest outcomes from two sources promoting a truly better challenger: tests/demo/test_flow.py.)"""

from __future__ import annotations

import secrets
import shutil
import time

import httpx
import pytest
from dagster import DagsterInstance, RunsFilter
from mlflow import MlflowClient

from core_assets.lib.data import builtin_features
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import processes
from mlops_platform.release_watch import wait_for
from mlops_platform.stack import dagster_home
from tests.support import FEEDBACK_TOKEN, TOKEN, feedback_auth, start_daemon, start_server, toggle, wired_to

pytestmark = pytest.mark.slow
LAYER_ENV = {
    "AUTO_PROMOTE": "true",
    "AB_TEST_PERCENT": "50",
    "EVALUATION_MIN_SAMPLES": "30",
    "EVALUATION_MIN_NEW_OUTCOMES": "50",
    "FEEDBACK_TOKEN": FEEDBACK_TOKEN,
}


def _favouring_b(answer: httpx.Response) -> list:
    """Labels that make B look right and A wrong, whatever they predicted (iris: classes 0, 1, 2)."""
    predictions = answer.json()["predictions"]
    if answer.json()["variant"] == "B":
        return predictions
    return [(int(p) + 1) % 3 for p in predictions]


def test_forged_evidence_moves_nothing(mlflow_server, fresh_model, tmp_path):
    envs = tmp_path / "envs"
    shutil.copytree(REPO_ROOT / "envs", envs)
    toggle(envs / "dev", "on", "evaluation")
    env = {"MLOPS_ENVS_DIR": str(envs), **LAYER_ENV}
    champion, challenger = fresh_model.versions
    server = start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": fresh_model.name, **env})
    daemon = None
    try:
        settings = wired_to(
            load_settings(
                "dev",
                mlflow_tracking_uri=mlflow_server,
                model_name=fresh_model.name,
                mlops_state_dir=tmp_path / "state",
                mlops_envs_dir=envs,
            ),
            server.url,
        )
        daemon = start_daemon(settings, tmp_path, env)
        rows = builtin_features().x_test.to_numpy().tolist()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            one = client.post("/predict", json={"data": [rows[0]]}, headers={"x-request-id": "victim-1"})
            real = one.headers["x-prediction-id"]
            label = {"prediction_id": real, "label": 0}
            assert client.post("/feedback", json=label).status_code == 401
            assert client.post("/feedback", json=label, headers={"x-token": TOKEN}).status_code == 403
            for forged in (secrets.token_hex(16), real[:-1] + ("0" if real[-1] != "0" else "1"), "victim-1"):
                refused = client.post("/feedback", json={"prediction_id": forged, "label": 0}, headers=feedback_auth())
                assert refused.status_code == 404, refused.text

            # each variant addressed by name, 100 rows a request, favourable labels from both sources
            for source in ("labelling", "support"):
                for alias in ("A", "B"):
                    for _ in range(3):
                        answer = client.post(f"/variant/{alias}/predict", json={"data": (rows * 3)[:100]})
                        item = {"prediction_id": answer.headers["x-prediction-id"], "label": _favouring_b(answer)}
                        assert client.post("/feedback", json=item, headers=feedback_auth(source)).status_code == 200

            # 10,000 labels flipped in B's favour, on routed traffic, from the one credential held
            flipped = []
            for i in range(100):
                batch = (rows * 3)[:100]
                answer = client.post("/predict", json={"data": batch}, headers={"x-client-id": f"attacker-{i}"})
                flipped.append({"prediction_id": answer.headers["x-prediction-id"], "label": _favouring_b(answer)})
            accepted = client.post("/feedback", json=flipped, headers=feedback_auth("support"))
            assert accepted.status_code == 200 and accepted.json()["rows"] == 10_000

            judged = client.get("/evaluation", headers=feedback_auth()).json()
        comparison = judged["comparison"]
        assert comparison["decision"] == "not yet known", comparison
        assert comparison["sources"] == {"support": {"sent": 10_000, "counted": 10_000}}, comparison["sources"]
        assert comparison["difference"] > 0.5  # B looks far better on the one source's word: not acted on
        assert sum(v["addressed"] for v in judged["variants"]) == 1_200  # logged, never judged
        # what the attack fed in says B is right and A wrong: admitted, it would have promoted B
        assert {v["variant"]: v["metric"] for v in judged["variants"]} == {"A": 0.0, "B": 1.0}

        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            # the daemon has seen the outcomes: its sensor materialized the judgement
            wait_for(
                "the daemon's online_evaluation run",
                lambda: any(r.is_finished for r in instance.get_runs(RunsFilter(job_name="online_evaluation_job"))),
                timeout_s=120,
            )
            time.sleep(25)  # the promote and rollback sensors (every 10 s) tick on the same evidence
            moves = instance.get_runs(RunsFilter(job_name="promote_job")) + instance.get_runs(
                RunsFilter(job_name="rollback_job")
            )
        assert moves == []
        assert MlflowClient(mlflow_server).get_registered_model(fresh_model.name).aliases == {
            "A": champion,
            "B": challenger,
        }
    finally:
        if daemon is not None:
            processes.stop(daemon)
        processes.stop(server)
