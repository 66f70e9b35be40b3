"""The evaluation layer on the model server (fast tier: fake models, the real app and a real SQLite
store): every protocol's answers logged under an id the server issued, feedback joined to them
from authenticated sources only, bad feedback refused whole."""

from __future__ import annotations

import asyncio
import re
import time

import numpy as np
import pytest
from sqlalchemy import select

from layer_api.hookspecs import AnsweredPrediction
from optional_layers.evaluation.answer_batch import answer_batch, by_prefix
from optional_layers.evaluation.labels import FeedbackError
from optional_layers.evaluation.prediction_log import ENCODE_SECONDS, Inputs, PredictionLog, RotatingFile, records
from optional_layers.evaluation.store import ANSWER_BATCHES, OutcomeStore, engine_for
from tests.fakes import FEATURES, fake_server
from tests.support import TOKEN, feedback_auth

ROW = [1.0, 2.0, 3.0, 4.0]  # SumModel answers 10.0 times its version: a "class" that is an integer


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("PREDICTION_LOG_INPUTS", "all")  # every logged prediction keeps its inputs
    with fake_server(layers={"evaluation"}, mlops_state_dir=tmp_path) as (client, registry):
        client.headers.update(feedback_auth())  # the layer's routes need the feedback credential
        yield client


def _predict(client, path="/predict", rows=(ROW,), **headers) -> str:
    response = client.post(path, json={"data": [list(r) for r in rows]}, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["x-prediction-id"]


def _truth(response) -> dict:
    """Feedback that the answer was right: SumModel's class is 10 x the version that answered."""
    return {
        "prediction_id": response.headers["x-prediction-id"],
        "label": 10 * int(response.headers["x-model-version"]),
    }


def _log_lines(tmp_path) -> list[dict]:
    files = sorted((tmp_path / "evaluation" / "prediction-log").glob("*.jsonl"))
    return [record for path in files for line in path.read_bytes().splitlines() for record in records(line)]


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

    lines = {line["prediction_id"]: line for line in _log_lines(tmp_path)}
    routed, per_variant = (lines[a.headers["x-prediction-id"]] for a in answers[:2])
    assert len(lines) == 4 and all(re.fullmatch(r"[0-9a-f]{46}", pid) for pid in lines)
    assert routed["request_id"] == answers[0].headers["x-request-id"]  # kept, for correlation only
    assert routed["bucket"] is not None and per_variant["bucket"] is None  # routed / named by the caller
    assert per_variant["alias"] == "B" and per_variant["version"] == "2" and per_variant["predictions"] == [20.0]
    assert routed["inputs"] == [dict(zip(FEATURES, ROW, strict=True))] and routed["model_name"] == "fake-model"

    judged = server.get("/evaluation").json()
    assert judged["outcomes"] == 4 and judged["metric"] == "accuracy"
    assert sum(v["outcomes"] for v in judged["variants"]) == 4
    assert sum(v["addressed"] for v in judged["variants"]) == 1  # /variant/B/predict: logged, never judged
    assert all(v["metric"] == 1.0 for v in judged["variants"])
    assert judged["comparison"]["decision"] == "not yet known"
    assert judged["comparison"]["sources"] == {"labelling": {"sent": 3, "counted": 3}}  # routed only
    assert "a decision needs EVALUATION_MIN_SOURCES=2" in judged["comparison"]["why"]


def test_bad_feedback_is_refused_whole_with_a_clear_4xx(server):
    good, other = _predict(server, "/variant/A/predict"), _predict(server, "/variant/A/predict", rows=(ROW, ROW))
    cases = [
        ([{"prediction_id": good, "label": 10}, {"prediction_id": "nope", "label": 1}], 404, "'nope' is unknown"),
        ({"prediction_id": good, "label": "setosa"}, 422, "'setosa' is not a class like the model's (float 10.0)"),
        ({"prediction_id": good, "label": True}, 422, "True is not a class"),
        ({"prediction_id": good, "label": "x" * 100_000}, 422, "... (100002 characters) is not a class"),
        ({"prediction_id": other, "label": 10}, 422, "the request had 2 rows; give a list of 2 labels"),
        ({"prediction_id": other, "label": [10, "x"]}, 422, "[0].label.1: 'x' is not a class"),
        ([{"prediction_id": good, "label": 10}, {"prediction_id": good, "label": 10}], 409, "given twice"),
        ({"prediction_id": good}, 422, "label"),
        ({"prediction_id": good, "label": 10, "extra": 1}, 422, "extra"),
        ({"request_id": good, "label": 10}, 422, "prediction_id"),
        ([], 422, "give 1 to 10,000 outcomes"),
    ]
    for body, status, message in cases:
        response = server.post("/feedback", json=body)
        assert response.status_code == status, (body, response.text)
        assert message in str(response.json()["detail"]), (body, response.text)
        assert len(response.text) < 2_000  # never an echo of the whole value
    assert server.get("/evaluation").json()["outcomes"] == 0  # nothing of the refused bodies was stored

    assert server.post("/feedback", json={"prediction_id": good, "label": 10}).status_code == 200
    again = server.post("/feedback", json={"prediction_id": good, "label": 3})
    assert again.status_code == 409 and "already has an outcome" in again.json()["detail"]
    assert server.post("/feedback", json={"prediction_id": other, "label": [10, 3]}).json()["rows"] == 2
    judged = server.get("/evaluation").json()
    assert judged["outcomes"] == 3 and judged["variants"] == [
        {"variant": "A", "version": "1", "outcomes": 3, "addressed": 3, "metric": round(2 / 3, 6)}
    ]


def test_the_caller_neither_chooses_nor_claims_a_prediction_id(server, tmp_path):
    """The caller's x-request-id is a correlation field: the same one twice gives two predictions with
    two fresh ids, and it is no key feedback can name."""
    first = server.post("/predict", json={"data": [ROW]}, headers={"x-request-id": "chosen-by-me"})
    second = server.post("/predict", json={"data": [ROW]}, headers={"x-request-id": "chosen-by-me"})
    ids = {first.headers["x-prediction-id"], second.headers["x-prediction-id"]}
    assert len(ids) == 2 and "chosen-by-me" not in ids
    refused = server.post("/feedback", json={"prediction_id": "chosen-by-me", "label": 10})
    assert refused.status_code == 404, refused.text
    guessed = first.headers["x-prediction-id"][:-1] + ("0" if first.headers["x-prediction-id"][-1] != "0" else "1")
    assert server.post("/feedback", json={"prediction_id": guessed, "label": 10}).status_code == 404
    assert server.post("/feedback", json=_truth(first)).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-credential"}, 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 403),  # the reload token is no feedback credential
        (feedback_auth("support"), 200),
    ],
)
def test_feedback_and_evaluation_need_the_feedback_credential(tmp_path, headers, status):
    with fake_server(layers={"evaluation"}, mlops_state_dir=tmp_path) as (client, _):
        answer = client.post("/predict", json={"data": [ROW]})
        assert client.post("/feedback", json=_truth(answer), headers=headers).status_code == status
        assert client.get("/evaluation", headers=headers).status_code == status
        if status != 200:  # nothing stored
            assert client.get("/evaluation", headers=feedback_auth()).json()["outcomes"] == 0
        assert client.post("/variant/A/reload", headers=feedback_auth()).status_code == 403


def test_feedback_after_the_window_is_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDBACK_TTL_HOURS", str(0.2 / 3600))
    with fake_server(layers={"evaluation"}, mlops_state_dir=tmp_path) as (client, _):
        request_id = _predict(client, "/variant/A/predict")
        time.sleep(0.5)
        response = client.post("/feedback", json={"prediction_id": request_id, "label": 10}, headers=feedback_auth())
    assert response.status_code == 410
    assert "has expired: its prediction is older than FEEDBACK_TTL_HOURS" in response.json()["detail"]


def test_feedback_statuses_are_declared_in_the_openapi(server):
    operation = server.get("/openapi.json").json()["paths"]["/feedback"]["post"]
    assert {"200", "404", "409", "410", "422", "503"} <= set(operation["responses"])


def test_a_full_queue_drops_and_counts_never_blocks():
    log = PredictionLog(store=None, files=None, capacity=100, inputs=Inputs("off", 0.0, ""))  # no writer
    prediction = AnsweredPrediction(f"{'0' * 14}{'a' * 32}", "r", 0.0, "A", "m", "1", 3, [[1.0]], ["x"], [1])

    async def serve() -> None:
        record = log.recorder()
        for _ in range(250):
            record(prediction)
        await asyncio.sleep(3 * ENCODE_SECONDS)  # encoded on the loop's next tick
        for _ in range(10):  # the queue is still full: the writer never ran
            record(prediction)
        await asyncio.sleep(3 * ENCODE_SECONDS)

    asyncio.run(serve())
    assert (log.accepted, log.dropped, sum(chunk.count for chunk in log.chunks)) == (100, 160, 100)


def test_layer_off_no_feedback_route_and_no_hook_call(tmp_path):
    with fake_server(mlops_state_dir=tmp_path) as (client, _):
        assert client.app.state.plane.record is None
        assert client.post("/feedback", json={"prediction_id": "x", "label": 1}).status_code == 404
        assert client.get("/evaluation").status_code == 404
    assert not (tmp_path / "evaluation").exists()


def test_the_judgement_and_the_log_counters_are_prometheus_metrics_with_monitoring_on(tmp_path):
    layers = {"evaluation", "monitoring"}
    with fake_server(layers=layers, mlops_state_dir=tmp_path) as (client, _):
        answer = client.post("/variant/A/predict", json={"data": [ROW]})
        assert client.post("/feedback", json=_truth(answer), headers=feedback_auth()).status_code == 200
        text = client.get("/metrics").text
    assert 'mlops_evaluation_outcomes{variant="A",version="1"} 1.0' in text
    assert 'mlops_evaluation_metric{metric="accuracy",variant="A",version="1"} 1.0' in text
    assert 'mlops_evaluation_decision{decision="not yet known"} 1.0' in text
    # every server of this process (the tests' earlier apps too) counts into the process's counters
    assert re.search(r"^mlops_prediction_log_written_total [1-9][0-9.e+]*$", text, re.MULTILINE)
    assert "mlops_prediction_log_dropped_total 0.0" in text


def _answered(prediction_id: str, at: float, prediction=(1,)) -> AnsweredPrediction:
    return AnsweredPrediction(prediction_id, None, at, "A", "m", "1", 5, [[1.0]], ["x"], np.array(prediction))


def test_a_batch_is_one_row_per_id_prefix_and_each_id_is_found_in_its_range(tmp_path):
    """Ids as the server issues them (hex microseconds first): two batches, the second crossing an
    ID_PREFIX step; feedback for ids of each is joined to its own prediction, an id inside a
    batch's range that was never answered is unknown."""
    store = OutcomeStore(engine_for("", tmp_path), "classification", ttl_seconds=60)
    step = 16**6  # microseconds per prefix step
    at = lambda us: f"{us:014x}{'ab' * 16}"  # noqa: E731
    first = [_answered(at(3 * step + 10 * i), 1000.0, prediction=[i % 3]) for i in range(50)]
    second = [_answered(at(4 * step - 100 + 10 * i), 1001.0, prediction=[i % 3]) for i in range(20)]
    store.add_predictions(first)
    store.add_predictions(second)
    with store.engine.connect() as connection:
        prefixes = connection.scalars(select(ANSWER_BATCHES.c.id_prefix)).all()
    assert sorted(prefixes) == [at(3 * step)[:8], at(3 * step)[:8], at(4 * step)[:8]]
    picked = [first[7], second[3], second[15]]  # the last two on either side of the step
    assert store.add_feedback([(p.prediction_id, int(p.predictions[0])) for p in picked], "labelling", now=1010.0) == 3
    assert [o.prediction for o in store.outcomes("m")] == [1, 0, 0]
    with pytest.raises(FeedbackError, match="is unknown"):
        store.add_feedback([(at(3 * step + 15), 1)], "labelling", now=1010.0)


def test_lines_of_one_prefix_written_together_are_one_row_and_each_id_is_found(tmp_path):
    store = OutcomeStore(engine_for("", tmp_path), "classification", ttl_seconds=60)
    at = lambda us: f"{us:014x}{'cd' * 16}"  # noqa: E731
    answered = [_answered(at(5 * 16**6 + i), 1000.0, prediction=[i % 3]) for i in range(30)]
    store.add_batches([answer_batch(columns) for part in (answered[:10], answered[10:]) for columns in by_prefix(part)])
    with store.engine.connect() as connection:
        assert connection.scalars(select(ANSWER_BATCHES.c.answers)).one().count(b"\n") == 1  # two lines
    picked = [answered[3], answered[10], answered[29]]
    assert store.add_feedback([(p.prediction_id, int(p.predictions[0])) for p in picked], "labelling", now=1010.0) == 3
    assert [o.prediction for o in store.outcomes("m")] == [0, 1, 2]


def test_predictions_past_the_window_without_an_outcome_are_pruned(tmp_path):
    store = OutcomeStore(engine_for("", tmp_path), "classification", ttl_seconds=60)
    store.add_predictions([_answered(f"p{i}", 1000.0) for i in range(3)])
    store.add_feedback([("p0", 1)], "labelling", now=1010.0)
    store.prune(now=2000.0)
    assert [o.label for o in store.outcomes("m")] == [1]  # p0 kept: it has its outcome
    with pytest.raises(FeedbackError, match="'p1' is unknown"):
        store.add_feedback([("p1", 1)], "labelling", now=2000.0)


def test_past_the_retention_predictions_outcomes_and_files_are_gone(tmp_path):
    store = OutcomeStore(engine_for("", tmp_path), "classification", ttl_seconds=60, retention_seconds=3600)
    store.add_predictions([_answered("old", 1000.0), _answered("new", 5000.0)])
    store.add_feedback([("old", 1)], "labelling", now=1010.0)
    store.add_feedback([("new", 1)], "labelling", now=5010.0)
    store.prune(now=5500.0)
    assert [o.received_at for o in store.outcomes("m")] == [5010.0]
    files = RotatingFile(tmp_path / "log", max_bytes=10, on_closed=lambda _path: None)
    files.write(b"0123456789\n")
    [closed] = (tmp_path / "log").glob("*.jsonl")
    assert closed.stat().st_mode & 0o777 == 0o600 and (tmp_path / "log").stat().st_mode & 0o777 == 0o700
    assert files.remove_older_than(time.time() - 3600) == 0 and closed.exists()
    assert files.remove_older_than(time.time() + 1) == 1 and not closed.exists()
    assert (tmp_path / "evaluation" / "outcomes.sqlite").stat().st_mode & 0o777 == 0o600


def test_the_log_keeps_inputs_as_configured(tmp_path, monkeypatch):
    """off: no inputs at all; all: every request's, of the allowed columns only."""
    for keep, columns, expected in (
        ("off", "", None),
        ("all", "petal_length,sepal_width", {"sepal_width", "petal_length"}),
    ):
        monkeypatch.setenv("PREDICTION_LOG_INPUTS", keep)
        monkeypatch.setenv("PREDICTION_LOG_COLUMNS", columns)
        state = tmp_path / keep
        with fake_server(layers={"evaluation"}, mlops_state_dir=state) as (client, _):
            ids = [_predict(client) for _ in range(3)]
            # an outcome for the last: the server writes its queue before it looks the id up
            fed = client.post("/feedback", json={"prediction_id": ids[-1], "label": 10}, headers=feedback_auth())
            assert fed.status_code == 200, fed.text
        lines = _log_lines(state)
        assert len(lines) == 3
        assert all(("inputs" in line) == (expected is not None) for line in lines)
        if expected is not None:
            assert all(set(record) == expected for line in lines for record in line["inputs"])


def test_a_recorder_that_raises_never_fails_the_answer(tmp_path, caplog):
    with fake_server(layers={"evaluation"}, mlops_state_dir=tmp_path) as (client, _):
        plane = client.app.state.plane

        def broken(_prediction):
            raise RuntimeError("disk full")

        plane.record = broken
        response = client.post("/predict", json={"data": [ROW]})
    assert response.status_code == 200 and response.headers["x-prediction-id"]
    assert "a layer failed to record prediction" in caplog.text
