"""Hot-swap against a real uvicorn process: no failed request while reloading, failures keep the old model."""

from __future__ import annotations

import time

import httpx
import pytest
from mlflow import MlflowClient

from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.artifact_digest import DIGEST_TAG
from mlops_platform import processes
from tests.handmade_versions import log_and_register
from tests.support import ROW, TOKEN, Hammer, start_mlflow, start_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server(mlflow_server, fresh_model, tmp_path):
    service = start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": fresh_model.name})
    try:
        yield service
    finally:
        processes.stop(service)


def _served(url: str, alias: str) -> str | None:
    return httpx.get(f"{url}/models", timeout=10).json()["models"][alias]["version"]


def test_repeated_reloads_under_load_fail_no_request(server, fresh_model, mlflow_server):
    v1, v2 = fresh_model.versions
    client = MlflowClient(mlflow_server)
    with Hammer(server.url) as hammer:
        for target in [v1, v2] * 4:
            client.set_registered_model_alias(fresh_model.name, "B", target)
            reload = httpx.post(f"{server.url}/variant/B/reload", json={"version": target}, headers=AUTH, timeout=60)
            assert reload.status_code == 200, reload.text
            assert _served(server.url, "B") == target

    outcomes = hammer.outcomes
    assert sum(outcomes.values()) > 100
    assert {status for status, _, _ in outcomes} == {200}, outcomes
    b_versions = {version for _, variant, version in outcomes if variant == "B"}
    assert b_versions == {v1, v2}


def _register_then_tamper(client, fresh_model, mlflow_state, tamper) -> str:
    """A new version whose stored artifacts `tamper(model_dir)` changes after registration."""
    trained = train_and_log(
        builtin_features(), TrainingSpec(estimator="sklearn.svm.SVC", params={}), "serving-tests", {}
    )
    version = register_version(client, fresh_model.name, trained.model_uri, trained.run_id).version
    assert client.get_model_version(fresh_model.name, version).tags[DIGEST_TAG]  # logged at training
    tamper(
        processes.mlflow_artifact_path(mlflow_state, client.get_model_version_download_uri(fresh_model.name, version))
    )
    client.set_registered_model_alias(fresh_model.name, "B", version)
    return version


def _corrupt(model_dir):
    for file in model_dir.glob("model.*"):
        file.write_bytes(b"\x00not a model")


def _reload_refused(server, expected: str) -> None:
    before = _served(server.url, "B")
    response = httpx.post(f"{server.url}/variant/B/reload", headers=AUTH, timeout=60)
    assert response.status_code == 422
    assert expected in response.json()["detail"]
    assert _served(server.url, "B") == before
    predicted = httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]}, timeout=10).json()
    assert predicted.get("version") == before, predicted
    assert httpx.get(f"{server.url}/models", timeout=10).json()["models"]["B"]["last_error"]


def test_tampered_artifacts_are_refused_and_the_old_model_keeps_serving(
    server, fresh_model, mlflow_server, mlflow_state
):
    """Changed after registration: corrupt bytes, and another version's model (which would load and
    pass the smoke test: only the digest logged at training tells them apart)."""
    client = MlflowClient(mlflow_server)
    corrupt = _register_then_tamper(client, fresh_model, mlflow_state, _corrupt)
    _reload_refused(server, f"{fresh_model.name} v{corrupt}: artifacts changed since registration")

    # without a logged digest (a version registered outside the platform), nothing is read at all
    client.delete_model_version_tag(fresh_model.name, corrupt, DIGEST_TAG)
    _reload_refused(
        server, f"{fresh_model.name} v{corrupt} has no logged {DIGEST_TAG}: its artifacts cannot be verified"
    )

    other = processes.mlflow_artifact_path(mlflow_state, client.get_model_version_download_uri(fresh_model.name, "1"))

    def substitute(model_dir):
        (model_dir / "model.skops").write_bytes((other / "model.skops").read_bytes())

    substituted = _register_then_tamper(client, fresh_model, mlflow_state, substitute)
    _reload_refused(server, f"{fresh_model.name} v{substituted}: artifacts changed since registration")


def test_missing_alias_and_version_mismatch_keep_the_old_model(server, fresh_model, mlflow_server):
    client = MlflowClient(mlflow_server)
    v1, v2 = fresh_model.versions

    mismatch = httpx.post(f"{server.url}/variant/B/reload", json={"version": v1}, headers=AUTH, timeout=30)
    assert mismatch.status_code == 409
    assert f"is v{v2}, not v{v1}" in mismatch.json()["detail"]

    client.delete_registered_model_alias(fresh_model.name, "B")
    missing = httpx.post(f"{server.url}/variant/B/reload", headers=AUTH, timeout=30)
    assert missing.status_code == 404
    assert "not found in the registry" in missing.json()["detail"]
    assert _served(server.url, "B") == v2


def test_registry_down_at_start_then_recovers_after_reload(shared_model, mlflow_state, tmp_path):
    port = processes.free_port()
    service = start_server(
        tmp_path, {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}", "MODEL_NAME": shared_model.name}
    )
    registry = None
    try:
        health = httpx.get(f"{service.url}/health", timeout=10)
        assert health.status_code == 200 and health.json()["loaded_variants"] == []
        assert httpx.get(f"{service.url}/ready", timeout=10).status_code == 503
        assert httpx.post(f"{service.url}/predict", json={"data": [ROW]}, timeout=10).status_code == 503
        down = httpx.post(f"{service.url}/variant/A/reload", headers=AUTH, timeout=60)
        assert down.status_code == 503 and "registry unreachable" in down.json()["detail"]

        registry = start_mlflow(mlflow_state, port)  # the registry comes back (same store)
        assert httpx.post(f"{service.url}/variant/A/reload", headers=AUTH, timeout=60).status_code == 200
        assert httpx.get(f"{service.url}/ready", timeout=10).status_code == 200
        # A asked: the alias watch may have loaded B by now too, and /predict sends 10% of clients there
        answer = httpx.post(f"{service.url}/variant/A/predict", json={"data": [ROW]}, timeout=10).json()
        assert answer["variant"] == "A" and answer["version"] == shared_model.versions[0]
    finally:
        processes.stop(service)
        if registry is not None:
            processes.stop(registry)


def test_chunked_body_over_the_limit_is_413(mlflow_server, shared_model, tmp_path):
    service = start_server(
        tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": shared_model.name, "MAX_BODY_BYTES": "4096"}
    )
    try:

        def chunks():
            yield b'{"data": ['
            for _ in range(400):
                yield b"[5.1, 3.5, 1.4, 0.2],"
            yield b"[5.1, 3.5, 1.4, 0.2]]}"

        response = httpx.post(
            f"{service.url}/predict", content=chunks(), headers={"content-type": "application/json"}, timeout=30
        )
        assert response.status_code == 413
        assert "exceeds 4096 bytes" in response.json()["detail"]
        ok = httpx.post(f"{service.url}/predict", json={"data": [ROW]}, timeout=10)
        assert ok.status_code == 200
    finally:
        processes.stop(service)


def _register_with_a_mismatched_example(tracking_uri: str, model_name: str) -> str:
    """A model fitted on 4 features but logged with a 3-feature signature and input example."""
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    features = builtin_features()
    model = LogisticRegression(max_iter=500).fit(features.x_train, features.y_train)
    example = features.x_train.iloc[:3, :3]
    return log_and_register(tracking_uri, model_name, model, example, signature=infer_signature(example, [0, 0, 0]))


def test_a_failing_smoke_prediction_keeps_the_old_model_serving(server, fresh_model, mlflow_server):
    client = MlflowClient(mlflow_server)
    broken = _register_with_a_mismatched_example(mlflow_server, fresh_model.name)
    before = _served(server.url, "B")
    client.set_registered_model_alias(fresh_model.name, "B", broken)

    response = httpx.post(f"{server.url}/variant/B/reload", headers=AUTH, timeout=60)

    assert response.status_code == 422
    assert response.json()["detail"].startswith("smoke prediction failed: ValueError")
    assert _served(server.url, "B") == before
    assert httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]}, timeout=10).json()["version"] == before


def test_shadow_traffic_during_reloads_leaves_no_request_in_flight(mlflow_server, fresh_model, tmp_path):
    service = start_server(
        tmp_path,
        {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": fresh_model.name, "ALIAS_SELECTION_MODE": "shadow"},
    )
    try:
        with Hammer(service.url, rows=lambda i: [ROW] * 5, paths=("/predict",)) as hammer:
            for alias in ["A", "B"] * 4:  # the answering alias and the shadow one, swapped under traffic
                assert httpx.post(f"{service.url}/variant/{alias}/reload", headers=AUTH, timeout=60).status_code == 200
    finally:
        deadline = time.monotonic() + 5  # the last shadow scorings run just after their responses
        while (health := httpx.get(f"{service.url}/health", timeout=10).json())[
            "in_flight"
        ] and time.monotonic() < deadline:
            time.sleep(0.05)
        processes.stop(service)
    statuses = {status for status, _, _ in hammer.outcomes}
    assert statuses == {200} and sum(hammer.outcomes.values()) > 50, hammer.outcomes
    assert health["shadow"]["requests"] > 0 and health["shadow"]["errors"] == 0
    assert (health["in_flight"], health["retired_models"]) == (0, 0)
