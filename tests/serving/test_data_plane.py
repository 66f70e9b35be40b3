"""Hot-swap bookkeeping through the whole app on fake models: a reload that fails for any reason
keeps the old model serving and says why; a swap answers with the new version at once. The same
paths against a real registry and real models: test_hot_swap.py."""

from __future__ import annotations

import pytest

from tests.fakes import BrokenModel, ErrorModel, FakeRegistry, fake_server
from tests.support import ROW, TOKEN

AUTH = {"x-token": TOKEN}


def _served(client, alias: str) -> str:
    return client.post(f"/variant/{alias}/predict", json={"data": [ROW]}).json()["version"]


def test_a_reload_swaps_to_the_version_the_alias_names_now():
    with fake_server() as (client, registry):
        registry.aliases["B"] = "3"
        answer = client.post("/variant/B/reload", json={"version": "3"}, headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert answer.json()["previous_version"] == "2" and _served(client, "B") == "3"
        assert client.post("/variant/B/predict", json={"data": [ROW]}).json()["predictions"] == pytest.approx(
            [3 * sum(ROW)]
        )


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        (ErrorModel, 422, "corrupt on purpose"),
        (BrokenModel, 422, "smoke prediction failed: RuntimeError: this model is broken"),
    ],
    ids=["does not load", "fails its smoke test"],
)
def test_a_version_that_cannot_serve_leaves_the_old_one_serving(kind, status, message):
    with fake_server() as (client, registry):
        registry.aliases["B"], registry.kinds["3"] = "3", kind
        refused = client.post("/variant/B/reload", headers=AUTH)
        assert refused.status_code == status and message in refused.json()["detail"]
        assert _served(client, "B") == "2"
        models = client.get("/models").json()["models"]["B"]
        assert models["version"] == "2" and message in models["last_error"]


def test_a_registry_that_disagrees_is_409_and_one_that_is_down_is_503():
    with fake_server() as (client, registry):
        registry.aliases["B"] = "4"
        mismatch = client.post("/variant/B/reload", json={"version": "3"}, headers=AUTH)
        assert mismatch.status_code == 409 and "is v4, not v3" in mismatch.json()["detail"]
        registry.down = True
        down = client.post("/variant/B/reload", headers=AUTH)
        assert down.status_code == 503 and "registry unreachable" in down.json()["detail"]
        assert _served(client, "B") == "2"


def test_an_alias_removed_from_the_registry_is_404_and_the_loaded_model_stays():
    with fake_server() as (client, registry):
        del registry.aliases["B"]
        assert client.post("/variant/B/reload", headers=AUTH).status_code == 404
        assert _served(client, "B") == "2" and client.get("/health").json()["problems"] == ["B"]


def test_no_model_loaded_answers_503_and_not_ready():
    with fake_server(FakeRegistry({})) as (client, _):
        assert client.get("/ready").status_code == 503
        answer = client.post("/predict", json={"data": [ROW]})
        assert answer.status_code == 503 and answer.json()["detail"] == "no model is loaded yet"
        assert client.post("/variant/A/predict", json={"data": [ROW]}).status_code == 503
