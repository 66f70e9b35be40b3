"""Named, typed inputs (MLflow's dataframe_split and dataframe_records) checked against the loaded
model's columns, class probabilities, and what the OpenAPI and /models say about the columns.
(Real models, real processes: tests/e2e/test_example_envs.py.)"""

from __future__ import annotations

import pytest

from tests.fakes import FEATURES, FakeRegistry, TableModel, fake_server
from tests.support import ROW


@pytest.fixture(scope="module")
def client():
    """A = a named-column classifier, B = the positional SumModel."""
    registry = FakeRegistry()
    registry.kinds["1"] = TableModel
    with fake_server(registry, max_rows=5) as (test_client, _):
        yield test_client


def _a(client, body):
    if isinstance(body, str):  # JSON that Python's encoder would not write (an overflowing number)
        return client.post("/variant/A/predict", content=body, headers={"content-type": "application/json"})
    return client.post("/variant/A/predict", json=body)


RECORDS = [
    {"plan": "basic", "tenure": 3.0, "autopay": False},
    {"plan": "premium", "tenure": None, "autopay": None},
    {"plan": "basic"},  # nullable columns may be left out
]


def test_named_forms_are_scored(client):
    records = _a(client, {"dataframe_records": RECORDS})
    split = _a(
        client, {"dataframe_split": {"columns": ["tenure", "plan"], "data": [[3.0, "basic"], [None, "premium"]]}}
    )

    assert records.status_code == 200, records.text
    assert records.json()["predictions"] == ["yes", "no", "yes"]
    assert split.json()["predictions"] == ["yes", "no"]


def test_class_probabilities_when_asked(client):
    answer = _a(client, {"dataframe_records": RECORDS[:2], "return_proba": True}).json()
    assert answer["classes"] == ["no", "yes"]
    assert [p for row in answer["probabilities"] for p in row] == pytest.approx([0.1, 0.9, 0.9, 0.1])
    assert "probabilities" not in _a(client, {"dataframe_records": RECORDS[:2]}).json()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"dataframe_records": [{"tenure": 1.0}]}, "dataframe_records.0: column 'plan' is missing"),
        ({"dataframe_records": [RECORDS[0], {"plan": None}]}, "dataframe_records.1: column 'plan' may not be null"),
        (
            {"dataframe_records": [{"plan": "x", "age": 3}]},
            "dataframe_records.0: unknown column 'age'; the model "
            "takes plan (string), tenure (number, nullable), autopay (boolean, nullable)",
        ),
        ({"dataframe_records": [{"plan": 5}]}, "dataframe_records.0: column 'plan' expects a string, got 5"),
        ({"dataframe_records": [{"plan": "x", "tenure": "3"}]}, "column 'tenure' expects a number, got '3'"),
        ({"dataframe_records": [{"plan": "x", "tenure": True}]}, "column 'tenure' expects a number, got True"),
        ({"dataframe_records": [{"plan": "x", "autopay": 1}]}, "column 'autopay' expects a boolean, got 1"),
        ('{"dataframe_records": [{"plan": "x", "tenure": 1e999}]}', "dataframe_records.0: column 'tenure' is infinite"),
        ({"dataframe_records": []}, "dataframe_records: at least one row is required"),
        ({"dataframe_records": [{"plan": "x"}] * 6}, "dataframe_records: 6 rows; at most 5 per request"),
        ({"dataframe_records": {"plan": "x"}}, "dataframe_records: expected a list of {column: value} objects"),
        ({"dataframe_records": [["x"]]}, "dataframe_records.0: expected a {column: value} object"),
        (
            {"dataframe_split": {"columns": ["plan"], "data": [["x", 1]]}},
            "dataframe_split.data.0: expected a list of 1",
        ),
        ({"dataframe_split": {"columns": ["plan", "plan"], "data": []}}, "names must be distinct strings"),
        (
            {"dataframe_split": {"columns": ["tenure"], "data": [[1.0]]}},
            "dataframe_split.columns: column 'plan' is missing",
        ),
        ({"dataframe_split": {"data": [["x"]]}}, 'dataframe_split: expected {"columns"'),
        (
            {"dataframe_split": {"columns": ["plan"], "data": [["x"]]}, "data": [ROW]},
            "body has data and dataframe_split; send exactly one",
        ),
        ({"dataframe_records": RECORDS, "return_proba": "yes"}, "return_proba: expected true or false, got 'yes'"),
    ],
)
def test_bad_named_input_is_a_422_naming_row_and_column(client, body, detail):
    response = _a(client, body)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]


def test_positional_rows_to_a_named_model_say_what_to_send(client):
    response = _a(client, {"data": [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]})
    assert response.status_code == 422
    assert "positional rows need an all-numeric model" in response.json()["detail"]
    assert "send dataframe_split or dataframe_records" in response.json()["detail"]


def test_a_positional_model_takes_named_columns_too(client):
    body = {"dataframe_records": [dict(zip(FEATURES, ROW, strict=True))]}
    response = client.post("/variant/B/predict", json=body)
    assert response.status_code == 200
    assert response.json()["predictions"] == pytest.approx([sum(ROW) * 2])  # SumModel v2


def test_a_model_without_probabilities_says_so(client):
    response = client.post("/variant/B/predict", json={"data": [ROW], "return_proba": True})
    assert response.status_code == 422
    assert response.json()["detail"] == "return_proba: this model gives no class probabilities"


def test_models_and_the_openapi_show_the_forms_and_the_loaded_columns(client):
    columns = client.get("/models").json()["models"]["A"]["columns"]
    assert columns == [
        {"name": "plan", "type": "string", "nullable": False},
        {"name": "tenure", "type": "number", "nullable": True},
        {"name": "autopay", "type": "boolean", "nullable": True},
    ]
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in body["oneOf"]] == [
        "PredictRequest",
        "DataframeSplitRequest",
        "DataframeRecordsRequest",
    ]
    records = spec["components"]["schemas"]["DataframeRecordsRequest"]
    assert "A (v1): plan (string), tenure (number, nullable), autopay (boolean, nullable)" in records["description"]
    assert "DataframeSplit" in spec["components"]["schemas"]
