"""The probe's v2 bodies from a model's own metadata (fast tier): one 2-D tensor for a positional
model, one tensor per column, with its datatype, for a named-column model; answers read per
protocol; a replica that does not answer is a problem the check reports, not an exception."""

from __future__ import annotations

import httpx

from core_assets.lib.probe import Expected, answer_of, probe_replica, v2_body
from mlops_platform.processes import free_port

ROW = {"tenure": 3, "plan": "basic", "autopay": True}


def test_a_positional_model_gets_the_row_as_one_tensor_in_column_order():
    inputs = [{"name": "input-0", "datatype": "FP64", "shape": [-1, 3]}]
    assert v2_body(ROW, inputs) == {
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 3], "data": [3, "basic", True]}]
    }


def test_a_named_column_model_gets_a_tensor_per_column_with_its_datatype():
    inputs = [
        {"name": "autopay", "datatype": "BOOL", "shape": [-1]},
        {"name": "tenure", "datatype": "FP64", "shape": [-1]},
    ]
    body = v2_body(ROW, inputs)
    assert body["inputs"] == [
        {"name": "autopay", "datatype": "BOOL", "shape": [1], "data": [True]},
        {"name": "tenure", "datatype": "FP64", "shape": [1], "data": [3]},
    ]


def test_answers_are_read_per_protocol():
    assert (
        answer_of("v2", {"outputs": [{"name": "predict_proba", "data": [0.1]}, {"name": "predict", "data": ["no"]}]})
        == "no"
    )
    assert answer_of("predict", {"predictions": [2]}) == answer_of("invocations", {"predictions": [2]}) == 2


def test_a_replica_that_does_not_answer_is_a_problem_not_an_exception():
    url = f"http://127.0.0.1:{free_port()}"
    with httpx.Client(timeout=2) as client:
        [found] = probe_replica(client, url, "m", {"A": Expected("1", ROW, "no")}, 500.0)
    assert (found.replica, found.protocol, found.alias) == (url, "v2", "A")
    assert found.problem == "GET /v2/models/m/versions/A: ConnectError"
