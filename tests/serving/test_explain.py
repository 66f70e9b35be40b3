"""POST /explain on a real model server and a real MLflow registry, the versions trained by the
platform's own training (each logs its background sample): A is a logistic regression (exact,
in log-odds, against the background's mean), B a depth-1 tree (TreeSHAP, in probabilities).
Each row's attributions add up to what /predict answers for it; the limits answer 4xx. The
evaluation layer is on: an explanation asked on /predict is logged with its prediction, of the
columns the log may keep only."""

from __future__ import annotations

import json
import shutil

import httpx
import numpy as np
import pytest

from core_assets.lib.data import builtin_features
from mlops_base.settings import REPO_ROOT
from mlops_platform import processes
from mlops_platform.release_watch import wait_for
from optional_layers.evaluation.prediction_log import records
from tests.support import start_server, toggle

ROWS = builtin_features().x_test.to_numpy()[:10].tolist()
KEPT = ["petal length (cm)", "petal width (cm)"]  # PREDICTION_LOG_COLUMNS


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    return tmp_path_factory.mktemp("explain")


@pytest.fixture(scope="module")
def server(mlflow_server, shared_model, state):
    shutil.copytree(REPO_ROOT / "envs", state / "envs")
    toggle(state / "envs" / "dev", "on", "evaluation")
    env = {
        "MLFLOW_TRACKING_URI": mlflow_server,
        "MODEL_NAME": shared_model.name,
        "EXPLAIN_MAX_ROWS": "20",
        "MLOPS_ENVS_DIR": str(state / "envs"),
        "MLOPS_STATE_DIR": str(state / "state"),
        "PREDICTION_LOG_INPUTS": "all",
        "PREDICTION_LOG_COLUMNS": ",".join(KEPT),
    }
    service = start_server(state, env)
    try:
        yield service.url
    finally:
        processes.stop(service)


def _softmax(margins: np.ndarray) -> np.ndarray:
    exp = np.exp(margins - margins.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _explained(url: str, path: str, rows: list) -> dict:
    response = httpx.post(f"{url}{path}", json={"data": rows}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _phi(answer: dict) -> np.ndarray:
    """(rows, columns, outputs), and each row's attributions plus the base equal its output_value."""
    phi = np.array([list(row["attributions"].values()) for row in answer["explanations"]])
    total = np.array(answer["base_value"])[None, :] + phi.sum(axis=1)
    assert np.abs(total - np.array([row["output_value"] for row in answer["explanations"]])).max() <= 1e-9
    return phi


def test_the_champion_is_explained_exactly_in_log_odds_and_adds_up_to_its_probabilities(server):
    answer = _explained(server, "/variant/A/explain", ROWS)
    print(json.dumps({**answer, "explanations": answer["explanations"][:1]}, indent=1))  # the guide shows it
    assert (answer["variant"], answer["output"], answer["method"]) == ("A", "log_odds", "linear")
    assert answer["outputs"] == ["0", "1", "2"] and len(answer["explanations"]) == len(ROWS)
    assert list(answer["explanations"][0]["attributions"]) == list(builtin_features().x_test.columns)
    _phi(answer)
    predicted = httpx.post(f"{server}/variant/A/predict", json={"data": ROWS, "return_proba": True}).json()
    margins = np.array([row["output_value"] for row in answer["explanations"]])
    assert np.abs(_softmax(margins) - np.array(predicted["probabilities"])).max() <= 1e-6
    assert answer["version"] == predicted["version"] and answer["run_id"] == predicted["run_id"]


def test_the_challenger_tree_is_explained_by_tree_shap_in_probabilities(server):
    answer = _explained(server, "/variant/B/explain", ROWS)
    assert (answer["variant"], answer["output"], answer["method"]) == ("B", "probability", "tree_shap")
    _phi(answer)
    predicted = httpx.post(f"{server}/variant/B/predict", json={"data": ROWS, "return_proba": True}).json()
    outputs = np.array([row["output_value"] for row in answer["explanations"]])
    assert np.abs(outputs - np.array(predicted["probabilities"])).max() <= 1e-6


def test_the_routed_explain_answers_with_the_variant_predict_would_and_limits_answer_4xx(server):
    for client in ("alice", "bob", "carol"):
        headers = {"x-client-id": client}
        explained = httpx.post(f"{server}/explain", json={"data": ROWS[:1]}, headers=headers, timeout=30).json()
        predicted = httpx.post(f"{server}/predict", json={"data": ROWS[:1]}, headers=headers).json()
        assert explained["variant"] == predicted["variant"], client
    too_many = httpx.post(f"{server}/explain", json={"data": ROWS * 3}, timeout=30)
    assert too_many.status_code == 422 and "EXPLAIN_MAX_ROWS=20" in too_many.json()["detail"]
    short = httpx.post(f"{server}/explain", json={"data": [[1.0, 2.0]]}, timeout=30)
    assert short.status_code == 422, short.text
    assert httpx.post(f"{server}/variant/C/explain", json={"data": ROWS[:1]}).status_code == 404
    assert httpx.post(f"{server}/predict", json={"data": ROWS[:1]}).status_code == 200  # still serving


def test_predict_with_explain_answers_the_predictions_and_their_explanations_by_the_same_version(server):
    body = {"data": ROWS, "return_proba": True, "explain": True}
    answer = httpx.post(f"{server}/predict", json=body, headers={"x-client-id": "dora"}, timeout=30)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert len(found["predictions"]) == len(found["explanations"]) == len(ROWS)
    explained = _explained(server, f"/variant/{found['variant']}/explain", ROWS)
    assert found["version"] == explained["version"] and found["method"] == explained["method"]
    assert np.abs(_phi(found) - _phi(explained)).max() == 0.0
    refused = httpx.post(f"{server}/predict", json={"data": ROWS, "explain": "yes"})
    assert refused.status_code == 422 and "explain: expected true or false" in refused.json()["detail"]
    too_many = httpx.post(f"{server}/predict", json={"data": ROWS * 3, "explain": True}, timeout=30)
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["detail"].startswith("30 rows; an explanation takes at most EXPLAIN_MAX_ROWS=20")


def test_an_explanation_asked_on_predict_is_logged_with_its_prediction_of_the_kept_columns(server, state):
    explained = httpx.post(f"{server}/variant/B/predict", json={"data": ROWS[:2], "explain": True}, timeout=30)
    plain = httpx.post(f"{server}/variant/B/predict", json={"data": ROWS[:2]}, timeout=30)
    ids = {answer.headers["x-prediction-id"]: answer for answer in (explained, plain)}
    logged: dict[str, dict] = {}

    def written() -> bool:
        for path in (state / "state" / "evaluation" / "prediction-log").glob("*.jsonl"):
            for line in path.read_bytes().splitlines():
                logged.update({r["prediction_id"]: r for r in records(line) if r["prediction_id"] in ids})
        return len(logged) == len(ids)

    wait_for("both predictions in the log", written, timeout_s=30)
    mine = logged[explained.headers["x-prediction-id"]]
    kept = {
        **explained.json(),
        "explanations": [
            {**row, "attributions": {c: row["attributions"][c] for c in KEPT}}
            for row in explained.json()["explanations"]
        ],
    }
    assert mine["explanation"] == {key: kept[key] for key in mine["explanation"]}
    assert set(mine["explanation"]) == {"output", "method", "outputs", "base_value", "explanations"}
    assert list(mine["inputs"][0]) == KEPT
    assert logged[plain.headers["x-prediction-id"]].get("explanation") is None


def test_an_open_inference_request_with_parameters_explain_gets_an_explanation_tensor(server, shared_model):
    request = {
        "inputs": [{"name": "x", "shape": [len(ROWS), 4], "datatype": "FP64", "data": ROWS}],
        "parameters": {"explain": True},
    }
    answer = httpx.post(f"{server}/v2/models/{shared_model.name}/versions/1/infer", json=request, timeout=30)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    [explanation] = [o for o in found["outputs"] if o["name"] == "explanation"]
    assert explanation["shape"] == [len(ROWS), 4, 3] and explanation["datatype"] == "FP64"
    meaning = found["parameters"]["explanation"]
    assert (meaning["method"], meaning["output"], meaning["outputs"]) == ("linear", "log_odds", ["0", "1", "2"])
    assert meaning["columns"] == list(builtin_features().x_test.columns)
    phi = np.array(explanation["data"]).reshape(explanation["shape"])
    assert np.abs(phi - _phi(_explained(server, "/variant/A/explain", ROWS))).max() == 0.0
    bad = httpx.post(
        f"{server}/v2/models/{shared_model.name}/infer", json={**request, "parameters": {"explain": 1}}, timeout=30
    )
    assert bad.status_code == 400 and "parameters.explain: expected true or false" in bad.json()["error"]


def test_explain_needs_the_predict_credential_when_scoring_does_and_a_runtime_without_a_model_says_so():
    """Fast tier (the fake registry's runtimes keep no library model: nothing to explain)."""
    from tests.fakes import fake_server

    token = "scoring-secret-0123456789abcdef"
    with fake_server(predict_token=token) as (client, _):
        assert client.post("/explain", json={"data": [[1, 1, 1, 1]]}).status_code == 401
        answer = client.post("/explain", json={"data": [[1, 1, 1, 1]]}, headers={"x-token": token})
        assert answer.status_code == 422 and "no model in this process to explain" in answer.json()["detail"]
        assert client.get("/models/1/card").status_code == 401  # the card names the training data too
