"""The feast layer on in a real Dagster code location and a real model server: "Materialize all"
trains from Feast, the version records its FeatureService, the layer's asset fills the online
store, `/predict {"entity_ids": [...]}` answers from it, and the contract refuses deploys."""

from __future__ import annotations

import os
import shutil
import uuid

import httpx
import pytest
from dagster import AssetSelection, DagsterInstance
from mlflow import MlflowClient
from sklearn.datasets import load_iris

from core_assets.definitions import build_definitions
from core_assets.release.registry import register_version
from mlops_base.settings import REPO_ROOT, load_settings
from mlops_platform import processes
from optional_layers.feast import repository
from optional_layers.feast.store import feature_store
from tests.core_assets.runs import run_job, step_failure
from tests.support import TOKEN, start_server, toggle

FEATURES = list(load_iris(as_frame=True).frame.columns[:4])


@pytest.fixture(scope="module")
def flow(mlflow_server, redis_service, tmp_path_factory):
    """An env with the feast layer on (online store: a real Redis), after "Materialize all" (alias
    B -> v1) and the online store filled."""
    root = tmp_path_factory.mktemp("feast-flow")
    shutil.copytree(REPO_ROOT / "envs" / "dev", root / "envs" / "dev")
    toggle(root / "envs" / "dev", "on", "feast")
    env = pytest.MonkeyPatch()
    env.setenv("FEAST_ONLINE_STORE", redis_service.url)  # the layer's own setting, for the whole module
    settings = load_settings(
        "dev",
        mlflow_tracking_uri=mlflow_server,
        mlflow_experiment="tests",
        model_name=f"feast-{uuid.uuid4().hex[:8]}",
        mlops_state_dir=root / "state",
        serving_url="",
    ).model_copy(update={"mlops_envs_dir": root / "envs"})
    (root / "dagster").mkdir()
    with DagsterInstance.local_temp(str(root / "dagster"), overrides={"telemetry": {"enabled": False}}) as instance:
        defs = build_definitions(settings)
        # the whole graph as `./mlops materialize` takes it: batch scoring's partitions aside
        graph = (AssetSelection.all() - AssetSelection.groups("batch")).resolve(defs.resolve_asset_graph())
        everything = defs.resolve_implicit_global_asset_job_def()
        result = everything.execute_in_process(instance=instance, asset_selection=list(graph), raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        try:
            yield settings, defs, instance, result
        finally:
            env.undo()


def _server(settings, tmp_path, **env: str) -> processes.Service:
    return start_server(
        tmp_path,
        {
            "MLOPS_ENVS_DIR": str(settings.mlops_envs_dir),
            "MLOPS_STATE_DIR": str(settings.state_dir),
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            "MODEL_NAME": settings.model_name,
            "FEAST_ONLINE_STORE": os.environ["FEAST_ONLINE_STORE"],
            **env,
        },
    )


def test_materialize_all_trains_from_feast_and_records_the_feature_service(flow):
    settings, defs, instance, result = flow
    client = MlflowClient(settings.mlflow_tracking_uri)
    version = client.get_model_version_by_alias(settings.model_name, "B")
    assert version.version == "1"
    assert version.tags["feast.feature_service"] == f"{settings.model_name}_v1"
    service = feature_store(settings).get_feature_service(f"{settings.model_name}_v1", allow_cache=False)
    assert [f.name for p in service.feature_view_projections for f in p.features] == FEATURES
    online = result.asset_materializations_for_node("feast_online_features")[0].metadata
    assert online["mode"].value == "full" and online["online_store"].value == "redis"


def test_the_model_server_answers_entity_ids_from_the_online_store(flow, tmp_path):
    settings, *_ = flow
    service = _server(settings, tmp_path)
    try:
        iris = load_iris(as_frame=True).frame
        by_id = httpx.post(f"{service.url}/predict", json={"entity_ids": [0, 75, 149]}, timeout=30)
        assert by_id.status_code == 200, by_id.text
        by_rows = httpx.post(f"{service.url}/predict", json={"data": iris[FEATURES].iloc[[0, 75, 149]].values.tolist()})
        assert by_id.json() == by_rows.json() and by_id.json()["version"] == "1"
        invoked = httpx.post(f"{service.url}/invocations", json={"entity_ids": [0, 75, 149]})
        assert invoked.json() == {"predictions": by_rows.json()["predictions"]}  # every protocol reaches the layer
        ids = {"name": "entity_ids", "shape": [3], "datatype": "INT64", "data": [0, 75, 149]}
        inferred = httpx.post(f"{service.url}/v2/models/{settings.model_name}/infer", json={"inputs": [ids]})
        assert inferred.json()["outputs"][0]["data"] == by_rows.json()["predictions"], inferred.text

        missing = httpx.post(f"{service.url}/variant/B/predict", json={"entity_ids": [3, 999]})
        assert missing.status_code == 422
        assert missing.json()["detail"].startswith("entity_ids not in the online store: [999]")
        malformed = httpx.post(f"{service.url}/predict", json={"entity_ids": ["a"]})
        assert (malformed.status_code, malformed.json()["detail"]) == (422, "entity_ids.0: 'a' is not an integer id")
        neither = httpx.post(f"{service.url}/predict", json={"rows": [[1, 2, 3, 4]]})
        assert neither.status_code == 422 and "no `data`" in neither.json()["detail"]

        body = httpx.get(f"{service.url}/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]
        forms = body["content"]["application/json"]["schema"]["oneOf"]
        assert [form["$ref"].rsplit("/", 1)[1] for form in forms] == [
            "PredictRequest",
            "DataframeSplitRequest",
            "DataframeRecordsRequest",
            "EntityPredictRequest",
        ]
    finally:
        processes.stop(service)


def test_the_contract_refuses_a_version_without_its_feature_service(flow):
    settings, defs, instance, _ = flow
    client = MlflowClient(settings.mlflow_tracking_uri)
    source = client.get_model_version(settings.model_name, "1")
    stray = register_version(client, settings.model_name, source.source, source.run_id)  # not via the graph
    run = run_job(
        defs,
        instance,
        "deploy_job",
        {"ops": {"served_alias": {"config": {"version": stray.version, "reason": "by hand"}}}},
    )

    assert not run.success
    assert f"refused, alias B unchanged: {settings.model_name} v{stray.version} has no FeatureService" in step_failure(
        run
    )
    assert client.get_model_version_by_alias(settings.model_name, "B").version == "1"


def test_the_contract_refuses_a_version_whose_features_changed(flow, tmp_path):
    settings, defs, instance, _ = flow
    iris = load_iris(as_frame=True).frame
    renamed = iris.rename(columns={FEATURES[0]: "sepal length (mm)"})
    csv = tmp_path / "renamed.csv"
    renamed.to_csv(csv, index=False)
    store = feature_store(settings)
    repository.apply(store, settings, ["sepal length (mm)", *FEATURES[1:]])  # the view as a new dataset makes it
    try:
        run = run_job(
            defs,
            instance,
            "deploy_job",
            {"ops": {"served_alias": {"config": {"version": "1", "alias": "A", "reason": "champion"}}}},
        )
        failure = step_failure(run)
        assert not run.success
        assert "refused, alias A unchanged: the features of" in failure
        assert "missing ['sepal length (cm)']" in failure
        assert MlflowClient(settings.mlflow_tracking_uri).get_registered_model(settings.model_name).aliases == {
            "B": "1"
        }
    finally:
        repository.apply(store, settings, FEATURES)


def test_redis_down_fails_entity_requests_only_and_releases_go_on(flow, redis_service, tmp_path):
    """Last in the module: it stops the module's Redis. An entity read just before is answered
    from the server's memory for FEAST_ONLINE_CACHE_SECONDS (60 here), the others fail."""
    settings, defs, instance, _ = flow
    service = _server(settings, tmp_path, FEAST_ONLINE_CACHE_SECONDS="60")
    try:
        read = httpx.post(f"{service.url}/predict", json={"entity_ids": [0]}, timeout=30)
        assert read.status_code == 200, read.text
        processes.stop(redis_service)
        kept = httpx.post(f"{service.url}/predict", json={"entity_ids": [0]}, timeout=30)
        assert kept.json() == read.json()
        by_id = httpx.post(f"{service.url}/predict", json={"entity_ids": [0, 1]}, timeout=30)
        assert by_id.status_code == 503
        assert by_id.json()["detail"].startswith("rows for ['entity_ids'] could not be fetched: ")
        by_rows = httpx.post(f"{service.url}/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]})
        assert by_rows.status_code == 200 and httpx.get(f"{service.url}/health").status_code == 200

        wired = build_definitions(
            settings.model_copy(update={"serving_url": service.url, "reload_secret_token": TOKEN})
        )
        released = run_job(
            wired,
            instance,
            "deploy_job",
            {"ops": {"served_alias": {"config": {"version": "1", "alias": "A", "reason": "champion"}}}},
        )
        assert released.success
        assert httpx.get(f"{service.url}/models").json()["models"]["A"]["version"] == "1"
    finally:
        processes.stop(service)
