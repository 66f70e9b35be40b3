"""The evaluation layer on the model server (fast tier: fake models, the real app and a real SQLite
store): every protocol's answers logged, feedback joined to them, bad feedback refused whole."""

from __future__ import annotations

import re
import time

import orjson
import pytest

from layer_api.hookspecs import AnsweredPrediction
from optional_layers.evaluation.prediction_log import PredictionLog
from optional_layers.evaluation.store import FeedbackError, OutcomeStore, engine_for
from tests.fakes import fake_server

ROW = [1.0, 2.0, 3.0, 4.0]  # SumModel answers 10.0 times its version: a "class" that is an integer


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("PREDICTION_LOG_SAMPLE", "1")  # every logged prediction keeps its inputs
    with fake_server(layers={"evaluation"}, mlops_state_dir=tmp_path) as (client, registry):
        yield client


def _predict(client, path="/predict", rows=(ROW,), **headers) -> str:
    response = client.post(path, json={"data": [list(r) for r in rows]}, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["x-request-id"]


def _truth(response) -> dict:
    """Feedback that the answer was right: SumModel's class is 10 x the version that answered."""
    return {"request_id": response.headers["x-request-id"], "label": 10 * int(response.headers["x-model-version"])}


def _log_lines(tmp_path) -> list[dict]:
    files = sorted((tmp_path / "evaluation" / "prediction-log").glob("*.jsonl"))
    return [orjson.loads(line) for path in files for line in path.read_bytes().splitlines()]


def test_every_protocol_is_logged_and_its_outcome_joined(server, tmp_path):
    answers = [
        server.post("/predict", json={"data": [ROW]}, headers={"x-client-id": "client-7"}),
        server.post("/variant/B/predict", json={"data": [ROW]}),
        server.post(
            "/v2/models/fake-model/infer",
            json={"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}]},
        ),
        server.post("/invocations", json={"inputs": [ROW]}),
    ]
    assert [a.status_code for a in answers] == [200] * 4
    answer = server.post("/feedback", json=[_truth(a) for a in answers])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 4, "rows": 4}

    lines = {line["request_id"]: line for line in _log_lines(tmp_path)}
    routed, per_variant = (lines[a.headers["x-request-id"]] for a in answers[:2])
    assert len(lines) == 4
    assert routed["bucket"] is not None and per_variant["bucket"] is None
    assert per_variant["alias"] == "B" and per_variant["version"] == "2" and per_variant["predictions"] == [20.0]
    assert routed["inputs"] == [ROW] and routed["model_name"] == "fake-model"

    judged = server.get("/evaluation").json()
    assert judged["outcomes"] == 4 and judged["metric"] == "accuracy"
    assert sum(v["outcomes"] for v in judged["variants"]) == 4
    assert all(v["metric"] == 1.0 for v in judged["variants"])
    assert judged["comparison"]["decision"] == "not yet known"
    assert "needs 100 on each side" in judged["comparison"]["why"]


def test_bad_feedback_is_refused_whole_with_a_clear_4xx(server):
    good, other = _predict(server, "/variant/A/predict"), _predict(server, "/variant/A/predict", rows=(ROW, ROW))
    cases = [
        ([{"request_id": good, "label": 10}, {"request_id": "nope", "label": 1}], 404, "'nope' is unknown"),
        ({"request_id": good, "label": "setosa"}, 422, "'setosa' is not a class like the model's (float 10.0)"),
        ({"request_id": good, "label": True}, 422, "True is not a class"),
        ({"request_id": other, "label": 10}, 422, "the request had 2 rows; give a list of 2 labels"),
        ({"request_id": other, "label": [10, "x"]}, 422, "[0].label.1: 'x' is not a class"),
        ([{"request_id": good, "label": 10}, {"request_id": good, "label": 10}], 409, "given twice"),
        ({"request_id": good}, 422, "label"),
        ({"request_id": good, "label": 10, "extra": 1}, 422, "extra"),
        ([], 422, "give 1 to 10,000 outcomes"),
    ]
    for body, status, message in cases:
        response = server.post("/feedback", json=body)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["detail"], (body, response.text)
    assert server.get("/evaluation").json()["outcomes"] == 0  # nothing of the refused bodies was stored

    assert server.post("/feedback", json={"request_id": good, "label": 10}).status_code == 200
    again = server.post("/feedback", json={"request_id": good, "label": 3})
    assert again.status_code == 409 and "already has an outcome" in again.json()["detail"]
    assert server.post("/feedback", json={"request_id": other, "label": [10, 3]}).json()["rows"] == 2
    judged = server.get("/evaluation").json()
    assert judged["outcomes"] == 3 and judged["variants"] == [
        {"variant": "A", "version": "1", "outcomes": 3, "metric": round(2 / 3, 6)}
    ]


def test_feedback_after_the_window_is_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDBACK_TTL_HOURS", str(0.2 / 3600))
    with fake_server(layers={"evaluation"}, mlops_state_dir=tmp_path) as (client, _):
        request_id = _predict(client, "/variant/A/predict")
        time.sleep(0.5)
        response = client.post("/feedback", json={"request_id": request_id, "label": 10})
    assert response.status_code == 410
    assert "has expired: its prediction is older than FEEDBACK_TTL_HOURS" in response.json()["detail"]


def test_feedback_statuses_are_declared_in_the_openapi(server):
    operation = server.get("/openapi.json").json()["paths"]["/feedback"]["post"]
    assert {"200", "404", "409", "410", "422", "503"} <= set(operation["responses"])


def test_a_full_queue_drops_and_counts_never_blocks():
    log = PredictionLog(store=None, files=None, capacity=100, sample=0.1)  # writer never started
    prediction = AnsweredPrediction("r", 0.0, "A", "m", "1", 3, [[1.0]], [1])
    for _ in range(250):
        log.put(prediction)
    assert len(log.queue) == 100 and log.dropped == 150


def test_layer_off_no_feedback_route_and_no_hook_call(tmp_path):
    with fake_server(mlops_state_dir=tmp_path) as (client, _):
        assert client.app.state.plane.record is None
        assert client.post("/feedback", json={"request_id": "x", "label": 1}).status_code == 404
        assert client.get("/evaluation").status_code == 404
    assert not (tmp_path / "evaluation").exists()


def test_the_judgement_and_the_log_counters_are_prometheus_metrics_with_monitoring_on(tmp_path):
    layers = {"evaluation", "monitoring"}
    with fake_server(layers=layers, mlops_state_dir=tmp_path) as (client, _):
        answer = client.post("/variant/A/predict", json={"data": [ROW]})
        assert client.post("/feedback", json=_truth(answer)).status_code == 200
        text = client.get("/metrics").text
    assert 'mlops_evaluation_outcomes{variant="A",version="1"} 1.0' in text
    assert 'mlops_evaluation_metric{metric="accuracy",variant="A",version="1"} 1.0' in text
    assert 'mlops_evaluation_decision{decision="not yet known"} 1.0' in text
    # every server of this process (the tests' earlier apps too) counts into the process's counters
    assert re.search(r"^mlops_prediction_log_written_total [1-9][0-9.e+]*$", text, re.MULTILINE)
    assert "mlops_prediction_log_dropped_total 0.0" in text


def test_predictions_past_the_window_without_an_outcome_are_pruned(tmp_path):
    store = OutcomeStore(engine_for("", tmp_path), "classification", ttl_seconds=60)
    rows = [(f"r{i}", 1000.0, "m", "A", "1", None, "[1]") for i in range(3)]
    store.add_predictions(rows)
    store.add_feedback([("r0", 1)], now=1010.0)
    store.prune(now=2000.0)
    assert [o.label for o in store.outcomes("m")] == [1]  # r0 kept: it has its outcome
    with pytest.raises(FeedbackError, match="'r1' is unknown"):
        store.add_feedback([("r1", 1)], now=2000.0)
