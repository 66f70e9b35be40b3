"""The real Triton server of the nvidia-pytriton wheel (its own venv, installed by `./mlops test`),
as the platform runs it: loopback, explicit model control, the repository API restricted to the
holder of the admin key. Skips, saying why, where the binary cannot run; never a fake server."""

from __future__ import annotations

import textwrap

import httpx
import pytest

from mlops_platform import triton_server as triton
from tests.support import TRITON_KEY as KEY

MODEL = textwrap.dedent("""
    import numpy as np
    import triton_python_backend_utils as pb_utils


    class TritonPythonModel:
        def execute(self, requests):
            answers = []
            for request in requests:
                rows = pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy()
                argmax = np.argmax(rows, axis=1).astype(np.int64).reshape(-1, 1)
                answers.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT", argmax)]))
            return answers
""")
CONFIG = textwrap.dedent("""
    name: "argmax"
    backend: "python"
    max_batch_size: 64
    input [ { name: "INPUT", data_type: TYPE_FP64, dims: [ 4 ] } ]
    output [ { name: "OUTPUT", data_type: TYPE_INT64, dims: [ 1 ] } ]
    dynamic_batching { max_queue_delay_microseconds: 500 }
""")


@pytest.fixture(scope="module")
def server(triton_server):
    service, repository = triton_server
    (repository / "argmax" / "1").mkdir(parents=True)
    (repository / "argmax" / "config.pbtxt").write_text(CONFIG)
    (repository / "argmax" / "1" / "model.py").write_text(MODEL)
    return service


def _load(server, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/repository/models/argmax/load", headers=headers, timeout=120)


def test_nothing_is_loaded_until_the_key_holder_loads_it_then_it_predicts(server):
    assert httpx.get(f"{server.url}/v2/models/argmax/ready").status_code != 200  # explicit model control

    assert _load(server, {triton.ADMIN_HEADER: KEY}).status_code == 200

    assert httpx.get(f"{server.url}/v2/models/argmax/ready").status_code == 200
    answer = httpx.post(
        f"{server.url}/v2/models/argmax/infer",
        json={"inputs": [{"name": "INPUT", "shape": [2, 4], "datatype": "FP64", "data": [1, 5, 2, 3, 9, 1, 1, 1]}]},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["outputs"][0]["data"] == [1, 0]


@pytest.mark.parametrize("headers", [{}, {triton.ADMIN_HEADER: "wrong"}], ids=["no key", "wrong key"])
def test_the_repository_api_refuses_anyone_without_the_key(server, headers):
    for action in ("load", "unload"):
        refused = httpx.post(f"{server.url}/v2/repository/models/argmax/{action}", headers=headers, timeout=30)
        assert refused.status_code == 403
        assert f"This API is restricted, expecting header '{triton.ADMIN_HEADER}'" in refused.json()["error"]


def test_it_listens_on_loopback_only(server):
    args = server.process.args
    assert {"--http-address=127.0.0.1", "--grpc-address=127.0.0.1", "--metrics-address=127.0.0.1"} <= set(args)
