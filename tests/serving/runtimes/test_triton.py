"""The Triton backend behind the model server's API, on the real Triton of the nvidia-pytriton
wheel and a real uvicorn (skips, saying why, where Triton cannot run): the same predictions as
in-process, hot-swap under load without a lost request, a failed load keeping the old version,
and a Triton that goes down answering 503 for its variant only."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_iris

from core_assets.lib.data import builtin_features
from core_assets.lib.training import TrainingSpec, train_and_log
from core_assets.release.registry import register_version
from mlops_base.artifact_digest import DIGEST_TAG
from mlops_base.settings import SettingsError, load_settings
from mlops_platform import processes
from mlops_platform import triton_server as triton
from serving.main import create_app
from tests.support import ROW, TOKEN, TRITON_KEY, Hammer, start_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ADMIN = {triton.ADMIN_HEADER: TRITON_KEY}


def _triton_env(service: processes.Service, repository: Path, **extra: str) -> dict[str, str]:
    return {
        "TRITON_URL": service.url,
        "TRITON_ADMIN_KEY": TRITON_KEY,
        "TRITON_MODEL_REPOSITORY": str(repository),
        "TRITON_TIMEOUT_S": "60",  # a load on a machine the parallel suite keeps busy
        **extra,
    }


def _loaded_in_triton(service: processes.Service) -> set[str]:
    index = httpx.post(f"{service.url}/v2/repository/index", headers=ADMIN, json={"ready": True}, timeout=30)
    index.raise_for_status()
    return {model["name"] for model in index.json()}


def _start(tmp_path, mlflow_server, model, env: dict[str, str]) -> processes.Service:
    return start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": model.name, **env})


def test_triton_predicts_exactly_what_the_in_process_backend_predicts(
    triton_server, fresh_model, mlflow_server, tmp_path
):
    """A on scikit-learn in process, B on Triton, both on the same version: the same answers."""
    service, repository = triton_server
    for version in fresh_model.versions:
        for alias in ("A", "B"):
            MlflowClient(mlflow_server).set_registered_model_alias(fresh_model.name, alias, version)
        server = _start(
            tmp_path,
            mlflow_server,
            fresh_model,
            _triton_env(service, repository, SERVING_BACKEND_BY_ALIAS='{"B": "triton"}'),
        )
        try:
            models = httpx.get(f"{server.url}/models", timeout=10).json()["models"]
            assert {a: (m["backend"], m["version"]) for a, m in models.items()} == {
                "A": ("sklearn", version),
                "B": ("triton", version),
            }
            rows = load_iris().data.tolist()
            answers = {
                alias: httpx.post(f"{server.url}/variant/{alias}/predict", json={"data": rows}, timeout=60)
                for alias in ("A", "B")
            }
            assert all(a.status_code == 200 for a in answers.values()), {a: r.text for a, r in answers.items()}
            assert answers["B"].json()["predictions"] == answers["A"].json()["predictions"]
            assert len(set(answers["B"].json()["predictions"])) > 1 or version == fresh_model.versions[1]
            bad = httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW[:3]]}, timeout=10)
            assert bad.status_code == 422 and "3 features; the model expects 4" in bad.text
        finally:
            processes.stop(server)


def test_hot_swap_on_triton_under_load_loses_no_request_and_unloads_old_models(
    triton_server, fresh_model, mlflow_server, tmp_path
):
    service, repository = triton_server
    v1, v2 = fresh_model.versions
    client = MlflowClient(mlflow_server)
    before = _loaded_in_triton(service)
    server = _start(tmp_path, mlflow_server, fresh_model, _triton_env(service, repository, SERVING_BACKEND="triton"))
    try:
        with Hammer(server.url, rows=lambda i: [ROW] * (1 + i % 7)) as hammer:
            for target in [v1, v2] * 3:
                client.set_registered_model_alias(fresh_model.name, "B", target)
                reload = httpx.post(
                    f"{server.url}/variant/B/reload", json={"version": target}, headers=AUTH, timeout=120
                )
                assert reload.status_code == 200, reload.text
        outcomes = hammer.outcomes
        assert sum(outcomes.values()) > 100
        assert {status for status, _, _ in outcomes} == {200}, outcomes
        assert {version for _, variant, version in outcomes if variant == "B"} == {v1, v2}
        # each swapped-out model was unloaded from Triton once its last request ended: A's and B's remain
        processes.wait_until(service, lambda: len(_loaded_in_triton(service) - before) == 2, timeout_s=30)
    finally:
        processes.stop(server)
    assert _loaded_in_triton(service) == before, "the model server unloads its models when it stops"


def _corrupt_arrays(skops_file: Path) -> None:
    """Every array in a skops file replaced by bytes numpy cannot read; its schema (the types) kept."""
    with zipfile.ZipFile(skops_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(skops_file, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, b"\x00not an array" if name.endswith(".npy") else data)


def test_a_failed_triton_load_keeps_the_old_version_serving(
    triton_server, fresh_model, mlflow_server, mlflow_state, tmp_path
):
    """The arrays in the new version's skops file are corrupted after registration (its list of types
    intact, so the server's checks pass): Triton refuses to load it."""
    service, repository = triton_server
    client = MlflowClient(mlflow_server)
    trained = train_and_log(
        builtin_features(), TrainingSpec(estimator="sklearn.svm.SVC", params={}), "serving-tests", {}
    )
    corrupt = register_version(client, fresh_model.name, trained.model_uri, trained.run_id).version
    model_dir = processes.mlflow_artifact_path(
        mlflow_state, client.get_model_version_download_uri(fresh_model.name, corrupt)
    )
    _corrupt_arrays(model_dir / "model.skops")
    # without its logged digest (registered outside the platform, allowed here) it gets past the
    # server's checks to Triton
    client.delete_model_version_tag(fresh_model.name, corrupt, DIGEST_TAG)
    env = _triton_env(service, repository, SERVING_BACKEND="triton", MODEL_ALLOW_UNVERIFIED="true")
    server = _start(tmp_path, mlflow_server, fresh_model, env)
    try:
        before = _loaded_in_triton(service)
        client.set_registered_model_alias(fresh_model.name, "B", corrupt)
        refused = httpx.post(f"{server.url}/variant/B/reload", headers=AUTH, timeout=120)
        assert refused.status_code == 502, refused.text
        assert "Triton refused to load" in refused.json()["detail"]
        documented = httpx.get(f"{server.url}/openapi.json", timeout=10).json()["paths"]["/variant/{alias}/reload"]
        assert "502" in documented["post"]["responses"]
        answer = httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]}, timeout=30)
        assert answer.status_code == 200 and answer.json()["version"] == fresh_model.versions[1]
        assert _loaded_in_triton(service) == before
        assert not [p for p in repository.iterdir() if f"-v{corrupt}-" in p.name]
    finally:
        processes.stop(server)


def test_triton_down_answers_503_for_its_variant_while_the_other_serves(
    triton_install, fresh_model, mlflow_server, tmp_path
):
    """A Triton of this test's own, stopped while the server runs."""
    own = triton.start(tmp_path / "models", tmp_path, TRITON_KEY, triton_install)
    server = None
    try:
        server = _start(
            tmp_path,
            mlflow_server,
            fresh_model,
            _triton_env(own, tmp_path / "models", SERVING_BACKEND_BY_ALIAS='{"B": "triton"}'),
        )
        assert httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]}, timeout=30).status_code == 200
        processes.stop(own)
        down = httpx.post(f"{server.url}/variant/B/predict", json={"data": [ROW]}, timeout=60)
        assert down.status_code == 503, down.text
        assert down.json()["detail"].startswith("alias B cannot answer now: Triton at")
        routed = [
            httpx.post(f"{server.url}/predict", json={"data": [ROW]}, headers={"x-client-id": f"c{i}"}, timeout=60)
            for i in range(40)
        ]
        assert {r.json()["variant"] for r in routed if r.status_code == 200} == {"A"}
        assert {r.status_code for r in routed if r.status_code != 200} <= {503}
        assert httpx.post(f"{server.url}/variant/A/predict", json={"data": [ROW]}, timeout=30).status_code == 200
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        # releasing goes on for the in-process alias: A moves to B's version and is hot-swapped
        MlflowClient(mlflow_server).set_registered_model_alias(fresh_model.name, "A", fresh_model.versions[1])
        released = httpx.post(f"{server.url}/variant/A/reload", headers=AUTH, timeout=60)
        assert released.status_code == 200 and released.json()["version"] == fresh_model.versions[1], released.text
    finally:
        if server is not None:
            processes.stop(server)
        processes.stop(own)


def test_a_triton_backend_needs_its_url_and_admin_key(settings):
    with pytest.raises(SettingsError, match="TRITON_ADMIN_KEY"):
        create_app(
            settings.model_copy(
                update={"serving_backend": "triton", "reload_secret_token": TOKEN, "triton_url": "http://127.0.0.1:1"}
            )
        )
    with pytest.raises(SettingsError, match="TRITON_URL"):
        create_app(
            settings.model_copy(
                update={"serving_backend": "triton", "reload_secret_token": TOKEN, "triton_admin_key": "k"}
            )
        )
    by_alias = load_settings("dev", serving_backend_by_alias=json.dumps({"B": "triton"}))
    assert (by_alias.backend_of("A"), by_alias.backend_of("B"), by_alias.uses_triton) == ("sklearn", "triton", True)
    with pytest.raises(SettingsError):
        load_settings("dev", serving_backend_by_alias='{"C": "triton"}')
