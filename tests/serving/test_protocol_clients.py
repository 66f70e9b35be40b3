"""Clients nobody here wrote, against one real uvicorn model server on a real MLflow registry:
MLflow's scoring client (written for `mlflow models serve`) and tritonclient (sync and aio, binary
and JSON tensors), each getting exactly what /predict answers for the same rows and version; and
tritonclient through a hot-swap under load."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton_http
import tritonclient.http.aio as triton_aio
from mlflow import MlflowClient
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
from tritonclient.utils import InferenceServerException

from mlops_platform import processes
from tests.support import ROW, TOKEN, register_model, start_server

ROWS = [ROW, [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


@pytest.fixture(scope="module")
def protocol_server(mlflow_server, tmp_path_factory):
    """A server of its own model (the hot-swap test moves B), every routed request to A."""
    model = register_model(mlflow_server)
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": model.name, "ALIAS_SELECTION_MODE": "blue_green"}
    server = start_server(tmp_path_factory.mktemp("protocols"), env)
    try:
        yield server, model
    finally:
        processes.stop(server)


def _predict(url: str, alias: str, **extra) -> dict:
    return httpx.post(f"{url}/variant/{alias}/predict", json={"data": ROWS, **extra}).json()


def _inputs(module, binary: bool) -> list:
    tensor = module.InferInput("input-0", [len(ROWS), len(ROW)], "FP64")
    tensor.set_data_from_numpy(np.array(ROWS), binary_data=binary)
    return [tensor]


def _outputs(module, binary: bool) -> list:
    return [module.InferRequestedOutput(name, binary_data=binary) for name in ("predict", "predict_proba")]


def test_mlflows_scoring_client_gets_what_predict_answers(protocol_server):
    server, _ = protocol_server
    client = ScoringServerClient("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
    client.wait_server_ready(timeout=30)
    assert client.get_version().count(".") >= 2
    expected = _predict(server.url, "A")["predictions"]
    columns = httpx.get(f"{server.url}/models").json()["models"]["A"]["columns"]
    frame = pd.DataFrame(ROWS, columns=[c["name"] for c in columns])
    for data in (frame, np.array(ROWS), ROWS):  # dataframe_split (with its index), inputs rows, inputs rows
        answer = client.invoke(data)
        assert answer.get_predictions(predictions_format="ndarray").tolist() == expected
    csv = frame.to_csv(index=False)
    scored = httpx.post(f"{server.url}/invocations", content=csv, headers={"content-type": "text/csv"})
    assert scored.status_code == 200 and scored.json() == {"predictions": expected}


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_gets_what_predict_answers(protocol_server, binary):
    server, model = protocol_server
    client = triton_http.InferenceServerClient(server.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready(model.name) and client.is_model_ready(model.name, "B")
        metadata = client.get_model_metadata(model.name)
        assert metadata["versions"] == model.versions
        assert metadata["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, len(ROW)]}]
        assert [o["name"] for o in metadata["outputs"]] == ["predict", "predict_proba"]
        assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
        for version, alias in (("", "A"), (model.versions[0], "A"), ("B", "B"), (model.versions[1], "B")):
            expected = _predict(server.url, alias, return_proba=True)
            result = client.infer(
                model.name, _inputs(triton_http, binary), version, outputs=_outputs(triton_http, binary)
            )
            assert result.as_numpy("predict").tolist() == expected["predictions"]
            assert result.as_numpy("predict_proba").tolist() == expected["probabilities"]
            assert result.get_response()["model_version"] == expected["version"]
        everything = client.infer(model.name, _inputs(triton_http, binary))  # no outputs listed: all, binary
        assert everything.as_numpy("predict_proba").shape == (len(ROWS), 3)
        with pytest.raises(InferenceServerException, match="is not served here") as refused:
            client.infer(model.name, _inputs(triton_http, binary), "999")
        assert refused.value.status() == "404"
    finally:
        client.close()


def test_tritonclients_aio_client_gets_what_predict_answers(protocol_server):
    server, model = protocol_server
    expected = _predict(server.url, "B", return_proba=True)

    async def scenario() -> list:
        client = triton_aio.InferenceServerClient(server.url.removeprefix("http://"))
        try:
            assert await client.is_server_live() and await client.is_server_ready()
            assert await client.is_model_ready(model.name, "B")
            assert (await client.get_model_metadata(model.name, "B"))["name"] == model.name
            return await asyncio.gather(
                *(
                    client.infer(model.name, _inputs(triton_aio, binary), "B", outputs=_outputs(triton_aio, binary))
                    for binary in (True, False)
                )
            )
        finally:
            await client.close()

    for result in asyncio.run(scenario()):
        assert result.as_numpy("predict").tolist() == expected["predictions"]
        assert result.as_numpy("predict_proba").tolist() == expected["probabilities"]


def test_tritonclient_through_hot_swaps_under_load_fails_no_request(protocol_server, mlflow_server):
    server, model = protocol_server
    v1, v2 = model.versions
    outcomes: Counter = Counter()
    stop = threading.Event()

    def hammer(binary: bool) -> None:
        client = triton_http.InferenceServerClient(server.url.removeprefix("http://"))
        try:
            while not stop.is_set():
                try:
                    result = client.infer(model.name, _inputs(triton_http, binary), "B")
                    outcomes[("ok", result.get_response()["model_version"])] += 1
                except InferenceServerException as exc:
                    outcomes[("failed", str(exc))] += 1
        except BaseException as exc:  # any other error ends this worker: counted, never silent
            outcomes[("died", repr(exc))] += 1
            raise
        finally:
            client.close()

    registry = MlflowClient(mlflow_server)
    workers = [threading.Thread(target=hammer, args=(i % 2 == 0,)) for i in range(4)]
    for worker in workers:
        worker.start()
    try:
        for target in [v1, v2] * 3:
            registry.set_registered_model_alias(model.name, "B", target)
            reload = httpx.post(
                f"{server.url}/variant/B/reload",
                json={"version": target},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=60,
            )
            assert reload.status_code == 200, reload.text
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert not [key for key in outcomes if key[0] != "ok"], outcomes
    assert {version for _, version in outcomes} == {v1, v2} and sum(outcomes.values()) > 100, outcomes
