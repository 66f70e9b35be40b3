"""/models, /health, /ready, /docs, and shadow traffic that never affects the answer (on fake models;
a real server and real models: test_hot_swap, tests/security)."""

from __future__ import annotations

from tests.fakes import FakeRegistry, fake_server

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [6.3, 3.3, 6.0, 2.5]]


def test_models_health_ready_with_both_aliases():
    with fake_server() as (client, _):
        models = client.get("/models").json()["models"]
        assert models["A"]["version"] == "1"
        assert models["B"]["run_id"] == "run-2"
        assert models["A"]["status"] == "loaded" and models["A"]["backend"] == "sklearn"
        assert models["A"]["loaded_at"] and models["A"]["n_features"] == 4
        health = client.get("/health").json()
        assert health["loaded_variants"] == ["A", "B"] and health["note"] is None
        assert health["routing"]["effective_split"] == {"A": 90, "B": 10}
        assert client.get("/ready").status_code == 200


def test_only_one_alias_loaded_takes_all_traffic_and_health_says_so():
    with fake_server(FakeRegistry({"B": "2"})) as (client, _):
        health = client.get("/health").json()
        assert health["loaded_variants"] == ["B"]
        assert health["note"] == "only B is loaded: it answers all traffic"
        assert client.get("/ready").status_code == 503  # the default alias A is not loaded
        answers = {
            client.post("/predict", json={"data": [IRIS_ROWS[0]]}, headers={"x-client-id": f"c{i}"}).json()["variant"]
            for i in range(50)
        }
        assert answers == {"B"}
        assert client.get("/models").json()["models"]["A"]["status"] == "load_failed"


def test_shadow_scores_a_copy_and_records_disagreement():
    with fake_server(alias_selection_mode="shadow", default_alias="A") as (client, _):
        direct_a = client.post("/variant/A/predict", json={"data": IRIS_ROWS}).json()["predictions"]
        for i in range(20):
            answer = client.post("/predict", json={"data": IRIS_ROWS}, headers={"x-client-id": f"s{i}"}).json()
            assert answer["variant"] == "A" and answer["predictions"] == direct_a
        shadow = client.get("/health").json()["shadow"]
    assert shadow["requests"] == 20 and shadow["errors"] == 0
    assert shadow["disagreement_rate"] == 1.0  # B (v2) answers twice A's (v1) on every row
    assert shadow["latency_ms_p50"] > 0


def test_openapi_documents_models_and_examples():
    with fake_server() as (client, _):
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    paths = spec["paths"]
    assert {"/predict", "/variant/{alias}/predict", "/variant/{alias}/reload", "/models", "/health", "/ready"} <= set(
        paths
    )
    schemas = spec["components"]["schemas"]
    assert schemas["PredictRequest"]["examples"][0]["data"]
    assert "409" in paths["/variant/{alias}/reload"]["post"]["responses"]
