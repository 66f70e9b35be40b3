"""The Open Inference Protocol (v2) on fakes: bodies built and answers read by tritonclient's own
encoder and parser (JSON and binary tensors), routed like /predict, errors in the protocol's shape.
The same client against a real server: tests/serving/test_protocol_clients.py."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import tritonclient.http as triton_http

from tests.fakes import FEATURES, FakeRegistry, TableModel, fake_server

ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
MODEL = "/v2/models/fake-model"


def _post(client, path: str, inputs, outputs=None, binary_output: bool | None = None, **headers):
    """An infer request as tritonclient encodes it; its answer as tritonclient reads it."""
    body, header_length = triton_http.InferenceServerClient.generate_request_body(inputs, outputs=outputs)
    if header_length is not None:
        headers["Inference-Header-Content-Length"] = str(header_length)
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    length = response.headers.get("inference-header-content-length")
    return response, triton_http.InferenceServerClient.parse_response_body(
        response.content, header_length=int(length) if length else None
    )


def _rows_input(rows: np.ndarray, binary: bool, datatype: str = "FP64", name: str = "input-0"):
    tensor = triton_http.InferInput(name, list(rows.shape), datatype)
    tensor.set_data_from_numpy(rows.astype(datatype.replace("FP", "float").lower()), binary_data=binary)
    return tensor


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("datatype", ["FP64", "FP32"])
def test_an_infer_answers_what_predict_answers(binary, datatype):
    with fake_server() as (client, _):
        for version, alias in (("1", "A"), ("2", "B"), ("B", "B")):
            expected = client.post(f"/variant/{alias}/predict", json={"data": ROWS.tolist()}).json()["predictions"]
            outputs = [triton_http.InferRequestedOutput("predict", binary_data=binary)]
            response, result = _post(
                client, f"{MODEL}/versions/{version}/infer", [_rows_input(ROWS, binary, datatype)], outputs
            )
            assert result.as_numpy("predict").tolist() == pytest.approx(expected)
            assert result.get_response()["model_version"] == {"A": "1", "B": "2"}[alias]
            assert response.headers["x-model-variant"] == alias
            assert (response.headers.get("inference-header-content-length") is not None) == binary


def test_a_request_without_a_version_is_routed_like_predict_and_sticky_per_client():
    with fake_server(alias_selection_mode="ab_test") as (client, _):
        for client_id in ("alice", "bob", "carol", "dave"):
            predicted = client.post("/predict", json={"data": ROWS.tolist()}, headers={"x-client-id": client_id})
            response, result = _post(client, f"{MODEL}/infer", [_rows_input(ROWS, True)], **{"x-client-id": client_id})
            assert response.headers["x-model-variant"] == predicted.json()["variant"]
            assert result.as_numpy("predict").tolist() == predicted.json()["predictions"]


def test_metadata_and_readiness_name_the_served_versions_and_the_signature():
    registry = FakeRegistry()
    registry.kinds["2"] = TableModel
    with fake_server(registry) as (client, _):
        assert client.get("/v2").json() == {
            "name": "mlops-platform",
            "version": client.get("/v2").json()["version"],
            "extensions": ["binary_tensor_data"],
        }
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get(f"{MODEL}/ready").json() == {"name": "fake-model", "ready": True}
        assert client.get(f"{MODEL}/versions/2/ready").status_code == 200
        positional = client.get(f"{MODEL}/versions/1").json()
        assert positional["versions"] == ["1", "2"]
        assert positional["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, len(FEATURES)]}]
        assert positional["outputs"] == [{"name": "predict", "datatype": "FP64", "shape": [-1]}]
        assert client.get(MODEL).json() == positional  # the default alias: A
        named = client.get(f"{MODEL}/versions/B").json()
        assert named["inputs"] == [
            {"name": "plan", "datatype": "BYTES", "shape": [-1]},
            {"name": "tenure", "datatype": "FP64", "shape": [-1]},
            {"name": "autopay", "datatype": "BOOL", "shape": [-1]},
        ]
        assert named["outputs"] == [
            {"name": "predict", "datatype": "BYTES", "shape": [-1]},
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]},
        ]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_named_inputs_are_columns_and_every_output_comes_without_a_list(binary):
    registry = FakeRegistry()
    registry.kinds["2"] = TableModel
    with fake_server(registry) as (client, _):
        plan = triton_http.InferInput("plan", [3], "BYTES")
        plan.set_data_from_numpy(np.array(["basic", "pro", "basic"], dtype=object), binary_data=binary)
        autopay = triton_http.InferInput("autopay", [3, 1], "BOOL")
        autopay.set_data_from_numpy(np.array([[False], [False], [True]]), binary_data=binary)
        _, result = _post(client, f"{MODEL}/versions/2/infer", [plan, autopay])
        records = [{"plan": p, "autopay": a} for p, a in (("basic", False), ("pro", False), ("basic", True))]
        expected = client.post("/variant/B/predict", json={"dataframe_records": records, "return_proba": True}).json()
        assert [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")] == expected[
            "predictions"
        ]
        assert result.as_numpy("predict_proba").tolist() == expected["probabilities"]


@pytest.mark.parametrize(
    "body, status, error",
    [
        ({"inputs": []}, 400, "inputs: expected a non-empty list"),
        ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, "3", 4]}]}, 400, "x.data.2"),
        ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, True, 4]}]}, 400, "x.data.2"),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}, 400, "inputs.x.0: 3"),
        ({"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [1, 2, 3]}]}, 400, "holds 8 values"),
        ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP99", "data": [1, 2, 3, 4]}]}, 400, "datatype"),
        (
            {
                "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}],
                "outputs": [{"name": "predict", "parameters": [1]}],
            },
            400,
            "outputs.0.parameters.binary_data",
        ),
        (
            {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}], "outputs": [{}]},
            400,
            "unknown output",
        ),
        (
            {
                "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}],
                "outputs": [{"name": "predict_proba"}],
            },
            400,
            "outputs.predict_proba: ",
        ),
    ],
)
def test_bad_input_is_the_protocols_400_naming_the_input(body, status, error):
    with fake_server() as (client, _):
        response = client.post(f"{MODEL}/infer", json=body)
        assert response.status_code == status
        assert error in response.json()["error"], response.json()


def test_unknown_models_and_versions_are_404_and_an_empty_alias_503_in_the_protocols_shape():
    with fake_server(FakeRegistry({"A": "1"})) as (client, _):
        body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}
        assert client.post("/v2/models/other/infer", json=body).json() == {
            "error": "unknown model 'other'; this server serves 'fake-model'"
        }
        missing = client.post(f"{MODEL}/versions/7/infer", json=body)
        assert missing.status_code == 404 and missing.json() == {
            "error": "fake-model version '7' is not served here (served: A=v1)"
        }
        empty = client.post(f"{MODEL}/versions/B/infer", json=body)
        assert empty.status_code == 503 and empty.json() == {"error": "alias B has no model loaded"}
        assert client.get(f"{MODEL}/versions/B/ready").status_code == 503
        assert client.get("/predict").json() == {"detail": "Method Not Allowed"}  # other routes keep their shape


def test_binary_data_that_does_not_add_up_and_compressed_bodies():
    with fake_server() as (client, _):
        header = (
            b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]}'
        )
        values = np.array([5.1, 3.5, 1.4, 0.2], dtype="<f4").tobytes()
        short = client.post(
            f"{MODEL}/infer",
            content=header + values[:12],
            headers={"Inference-Header-Content-Length": str(len(header))},
        )
        assert short.status_code == 400 and "runs past the binary data" in short.json()["error"]
        wrong = client.post(f"{MODEL}/infer", content=header + values, headers={"Inference-Header-Content-Length": "x"})
        assert wrong.status_code == 400 and "Inference-Header-Content-Length" in wrong.json()["error"]
        body = header + values
        zipped = client.post(
            f"{MODEL}/infer",
            content=gzip.compress(body),
            headers={"Inference-Header-Content-Length": str(len(header)), "Content-Encoding": "gzip"},
        )
        assert zipped.status_code == 200, zipped.text
        assert client.post(f"{MODEL}/infer", content=body, headers={"Content-Encoding": "br"}).status_code == 415


def test_the_openapi_document_declares_the_protocols_routes_without_422():
    with fake_server() as (client, _):
        paths = client.get("/openapi.json").json()["paths"]
        infer = paths["/v2/models/{model_name}/versions/{model_version}/infer"]["post"]
        assert set(infer["responses"]) == {"200", "400", "401", "403", "404", "413", "415", "429", "503", "504"}
        assert all(
            "422" not in op["responses"] for path, ops in paths.items() if path.startswith("/v2") for op in ops.values()
        )
