"""What the server logs per request with uvicorn's access log off (as shipped): a real uvicorn."""

from __future__ import annotations

import httpx

from mlops_platform import processes
from tests.support import ROW, TOKEN, start_server


def _lines(service, marker: str) -> list[str]:
    return [line for line in service.log_path.read_text().splitlines() if marker in line]


def test_failed_slow_and_control_requests_are_logged_answered_predictions_are_not(
    mlflow_server, shared_model, tmp_path
):
    env = {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": shared_model.name}
    server = start_server(tmp_path / "default", env)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(20):
                assert client.post("/predict", json={"data": [ROW]}).status_code == 200
            assert client.post("/predict", json={"data": [[1.0]]}).status_code == 422
            assert client.post("/variant/B/reload", headers={"x-token": TOKEN}).status_code == 200
            assert client.get("/health").status_code == 200
            assert client.get("/models").status_code == 200
    finally:
        processes.stop(server)
    assert len(_lines(server, '"POST /predict HTTP/1.1"')) == 1  # the 422 only
    assert _lines(server, '"POST /predict HTTP/1.1" 422 ')
    assert _lines(server, '"POST /variant/B/reload HTTP/1.1" 200 ')
    assert _lines(server, '"GET /models HTTP/1.1" 200 ')
    assert not _lines(server, "/health")

    slow = start_server(tmp_path / "slow", {**env, "REQUEST_LOG_SLOW_MS": "0"})  # every request is slow
    try:
        for _ in range(3):
            assert httpx.post(f"{slow.url}/predict", json={"data": [ROW]}, timeout=30).status_code == 200
    finally:
        processes.stop(slow)
    assert len(_lines(slow, '"POST /predict HTTP/1.1" 200 ')) == 3
    assert all(line.startswith("WARNING:") for line in _lines(slow, '"POST /predict HTTP/1.1" 200 '))
