"""MLflow's scoring protocol on the fake registry (fast tier): every input form answers what /predict
answers for the same rows; bad bodies are refused naming the problem."""

from __future__ import annotations

import pytest

from tests.fakes import FEATURES, TableModel, fake_server

ROWS = [[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5]]
FORMS = {
    "dataframe_split": {"dataframe_split": {"columns": FEATURES, "data": ROWS}},
    "dataframe_records": {"dataframe_records": [dict(zip(FEATURES, row, strict=True)) for row in ROWS]},
    "instances rows": {"instances": ROWS},
    "inputs rows": {"inputs": ROWS},
    "inputs records": {"inputs": [dict(zip(FEATURES, row, strict=True)) for row in ROWS]},
    "inputs columns": {"inputs": {name: [row[i] for row in ROWS] for i, name in enumerate(FEATURES)}},
}


@pytest.mark.parametrize("form", FORMS)
def test_every_form_answers_what_predict_answers(form):
    with fake_server() as (client, _):
        expected = client.post("/variant/A/predict", json={"data": ROWS}).json()["predictions"]
        answer = client.post("/invocations", json=FORMS[form], headers={"x-client-id": "alice"})
        routed = client.post("/predict", json={"data": ROWS}, headers={"x-client-id": "alice"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": routed.json()["predictions"]}
    assert answer.headers["x-model-variant"] == routed.json()["variant"]
    assert expected == [10.0, 2.0]  # SumModel v1: each row's sum


def test_csv_with_a_header_row():
    csv = ",".join(FEATURES) + "\n" + "\n".join(",".join(str(v) for v in row) for row in ROWS) + "\n"
    with fake_server() as (client, _):
        answer = client.post("/variant/A/predict", json={"data": ROWS})
        scored = client.post("/invocations", content=csv, headers={"content-type": "text/csv", "x-client-id": "x"})
        routed = client.post("/predict", json={"data": ROWS}, headers={"x-client-id": "x"})
    assert scored.status_code == 200 and scored.json()["predictions"] == routed.json()["predictions"]
    assert answer.status_code == 200


def test_named_columns_with_strings_and_missing_values():
    registry_kinds = {"1": TableModel, "2": TableModel}
    with fake_server() as (client, registry):
        registry.kinds.update(registry_kinds)
        for alias in ("A", "B"):
            assert (
                client.post(f"/variant/{alias}/reload", headers={"x-token": "test-reload-token-0123456789"}).status_code
                == 200
            )
        body = {"inputs": {"plan": ["basic", "pro"], "tenure": [3.0, None], "autopay": [False, None]}}
        answer = client.post("/invocations", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": ["yes", "no"]}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b'{"instances": [[1, 2, 3]]}', "application/json", 422, "instances.0: 3 features"),
        (b'{"instances": [[1, true, 3, 4]]}', "application/json", 422, "instances.0.1"),  # never read as 1
        (
            b'{"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"], '
            b'"data": [[1, true, 3, 4]]}}',
            "application/json",
            422,
            "expects a number, got True",
        ),
        (
            b'{"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"], '
            b'"data": [[1, "2", 3, 4]]}}',
            "application/json",
            422,
            "expects a number, got '2'",
        ),
        (b'{"instances": [[1, 2, 3, 4]], "params": {}}', "application/json", 422, "exactly one of"),
        (b'{"dataframe_split": {}, "inputs": []}', "application/json", 422, "exactly one of"),
        (b"[[1, 2, 3, 4]]", "application/json", 422, "JSON object"),
        (b'{"inputs": {"a": [1], "b": [1, 2]}}', "application/json", 422, "equally many"),
        (b'{"inputs": []}', "application/json", 422, "non-empty"),
        (b"not json", "application/json", 422, "JSON"),
        (b"a,b\n1", "text/csv", 422, "column"),
        (b'{"inputs": [[1, 2, 3, 4]]}', "application/json; charset=latin-1", 415, "charset"),
        (b"x", "application/x-www-form-urlencoded", 415, "not accepted"),
    ],
)
def test_bad_bodies_are_refused_naming_the_problem(body, content_type, status, says):
    with fake_server() as (client, _):
        answer = client.post("/invocations", content=body, headers={"content-type": content_type})
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]


def test_ping_and_version():
    with fake_server() as (client, _):
        assert client.get("/ping").status_code == 200
        assert client.get("/version").text.count(".") >= 2
