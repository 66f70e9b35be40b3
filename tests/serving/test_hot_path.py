"""The hot routes answer the same through the direct path as through FastAPI's stack (the one a
traced server keeps to): bodies, statuses, headers, a request id once, and a JSON 500 (never a
traceback) for a failure nobody expected."""

from __future__ import annotations

import numpy as np
import pytest

from layer_api.manager import LayerManager
from serving.hot_path import ModelServerApp
from serving.main import create_app
from tests.fakes import FakeRegistry, SumModel, fake_server, fake_settings
from tests.support import ROW, serving_client

REQUESTS = [
    ("/predict", {"data": [ROW, ROW]}, {}),
    ("/variant/B/predict", {"data": [ROW]}, {}),
    ("/invocations", {"inputs": [ROW]}, {}),
    ("/v2/models/fake-model/infer", {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": ROW}]}, {}),
    (
        "/v2/models/fake-model/versions/2/infer",
        {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": ROW}]},
        {},
    ),
    ("/predict", {"data": [[1, 2]]}, {}),  # 422
    ("/predict", {"data": [ROW]}, {"content-type": "text/plain"}),  # 415
    ("/v2/models/other/infer", {"inputs": []}, {}),  # 404
    ("/variant/C/predict", {"data": [ROW]}, {}),  # 404 from FastAPI's route
    ("/explain", {"data": [ROW]}, {}),
    ("/variant/A/explain", {"data": [[1, 2]]}, {}),  # 422
]


def _answers(monkeypatch, direct: bool) -> list[tuple[int, bytes, dict[str, str]]]:
    monkeypatch.setattr(ModelServerApp, "direct", direct)
    with fake_server() as (client, _):
        answers = []
        for path, body, headers in REQUESTS:
            answer = client.post(
                path, json=body, headers={"x-request-id": "same-id", "x-client-id": "client-7", **headers}
            )
            assert answer.headers.get_list("x-request-id") == ["same-id"], path
            kept = {k: v for k, v in answer.headers.items() if k.startswith(("x-", "content-"))}
            answers.append((answer.status_code, answer.content, kept))
        return answers


def test_every_hot_route_answers_the_same_direct_and_through_fastapi(monkeypatch):
    direct, through_fastapi = _answers(monkeypatch, True), _answers(monkeypatch, False)
    assert [status for status, _, _ in direct][:9] == [200, 200, 200, 200, 200, 422, 415, 404, 404]
    assert direct[9][0] in (200, 422) and direct[10][0] == 422
    assert direct == through_fastapi


class ExplodingModel(SumModel):
    """Fails in a way no handler expects (not a ValueError the data plane maps to a 422)."""

    def predict(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 3:
            raise KeyError("unexpected")
        return super().predict(rows)


@pytest.mark.parametrize("direct", [True, False])
def test_an_unexpected_failure_is_a_json_500_and_the_server_answers_on(monkeypatch, direct):
    registry = FakeRegistry()
    registry.kinds["1"] = ExplodingModel
    monkeypatch.setattr(ModelServerApp, "direct", direct)
    with fake_server(registry, batch_max_rows=0) as (client, _):
        failed = client.post("/variant/A/predict", json={"data": [ROW] * 3})
        assert failed.status_code == 500 and failed.json() == {"detail": "internal error (KeyError)"}
        assert client.post("/variant/A/predict", json={"data": [ROW]}).status_code == 200


class _EnterLeaveByChance:
    """Middleware with methods named `enter` and `leave` that is no DirectHook."""

    def __init__(self, app):
        self.app = app

    def enter(self, scope):
        raise AssertionError("called as a hook")

    def leave(self, scope, mark):
        raise AssertionError("called as a hook")

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


def test_only_direct_hooks_are_called_around_the_direct_path_and_keep_it_bare():
    with fake_server(layers=frozenset({"monitoring"})) as (client, _):
        assert client.post("/predict", json={"data": [ROW]}).status_code == 200
        app = client.app
        assert app.bare and len(app._hooks) == 3  # the request id, the log, the layer's metrics
    registry, settings = FakeRegistry(), fake_settings()
    app = create_app(settings, LayerManager(settings, set()), registry, registry.new_runtime)
    app.add_middleware(_EnterLeaveByChance)
    with serving_client(app) as client:
        assert client.post("/predict", json={"data": [ROW]}).status_code == 200
    assert not app.bare  # wrapped, as any middleware
