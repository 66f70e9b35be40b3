"""The four core assets materialized in-process against a real MLflow server (SQLite store)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dagster import AssetKey, UrlMetadataValue, materialize

from core_assets.assets import (
    features,
    registered_model_version,
    served_alias,
    trained_model,
)
from core_assets.checks import quality_gate
from core_assets.release.history import alias_moves
from core_assets.release.registry import AliasMove
from mlops_base.aliases import MIRROR_PREFIX
from mlops_base.explain.background import BACKGROUND_ARTIFACT, BACKGROUND_TAG
from mlops_base.explain.importance import IMPORTANCE_ARTIFACT
from mlops_base.reference_profile import PROFILE_ARTIFACT, PROFILE_TAG
from optional_layers.drift.serving import registry_reference
from tests.core_assets.runs import release, resources, run_job, step_failure

ASSETS = [features, trained_model, registered_model_version, served_alias]


def mirrored_history(client, model_name: str, alias: str) -> list[AliasMove]:
    """The MLflow mirror of one alias's history, oldest first."""
    tags = client.get_registered_model(model_name).tags
    moves = [AliasMove(**json.loads(value)) for key, value in tags.items() if key.startswith(MIRROR_PREFIX)]
    return sorted((m for m in moves if alias in (None, m.alias)), key=lambda m: m.moved_at)


def _metadata(result, key: str, raw: bool = False) -> dict:
    [materialization] = result.asset_materializations_for_node(key)
    return {name: value if raw else value.value for name, value in materialization.metadata.items()}


def test_graph_materializes_to_a_registered_version_on_alias_b(settings, client, instance, tmp_path):
    result = materialize(ASSETS + [quality_gate], resources=resources(settings), instance=instance)
    assert result.success

    [version] = client.search_model_versions(f"name='{settings.model_name}'")
    assert version.status == "READY"
    model = client.get_registered_model(settings.model_name)
    assert model.aliases == {"B": version.version}
    [mirrored] = mirrored_history(client, settings.model_name, "B")  # one tag per move
    assert (mirrored.before_version, mirrored.after_version) == (None, version.version)

    served = _metadata(result, "served_alias")
    assert served["before_version"] is None
    assert served["after_version"] == version.version
    assert served["run_id"] == result.run_id
    assert (served["lever"], served["trigger"]) == ("release", "cli or api")
    assert served["registered_at"] is not None
    [serving_check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "serving_matches_alias"]
    assert serving_check.passed

    trained = _metadata(result, "trained_model")
    assert trained["accuracy"] >= 0.9 and 0 < trained["f1_macro"] <= 1
    run = client.get_run(trained["run_id"])
    assert run.data.tags["mlops.quality_gate"] == "passed"
    assert "confusion_matrix.png" in [a.path for a in client.list_artifacts(run.info.run_id)]
    assert _metadata(result, "registered_model_version")["version"] == version.version

    # the drift reference: logged with the run, its digest on the run and on the version
    data = Path(client.download_artifacts(run.info.run_id, PROFILE_ARTIFACT, str(tmp_path))).read_bytes()
    profile = json.loads(data)
    assert run.data.tags[PROFILE_TAG] == hashlib.sha256(data).hexdigest() == version.tags[PROFILE_TAG]
    assert sorted(profile["columns"]) == sorted(_metadata(result, "features")["feature_names"])
    assert sorted(profile["prediction"]["categories"]) == ["0", "1", "2"]
    # the model server's drift layer reads it back over MLflow's REST API, checked against the digest
    assert registry_reference(settings.mlflow_tracking_uri)(settings.model_name, version.version) == profile

    feats = _metadata(result, "features")
    assert feats["train_rows"] + feats["test_rows"] == 150 == feats["dagster/row_count"]
    schema = feats["dagster/column_schema"]
    assert [(c.name, c.type) for c in schema.columns][:4] == [(name, "number") for name in feats["feature_names"]]
    assert schema.columns[-1].name == "target"

    # figures and tables on the asset's page; every link a URL value the UI makes clickable
    raw = _metadata(result, "trained_model", raw=True)
    assert raw["test_split"].value.startswith("| class |") and "data:image/png;base64," in raw["test_split"].value
    assert raw["reference_profile"].value.startswith("| column | kind | missing | reference |")
    # the explanations' background and the global importance, logged with the run
    background = Path(client.download_artifacts(run.info.run_id, BACKGROUND_ARTIFACT, str(tmp_path))).read_bytes()
    assert run.data.tags[BACKGROUND_TAG] == hashlib.sha256(background).hexdigest() == version.tags[BACKGROUND_TAG]
    importance = json.loads(
        Path(client.download_artifacts(run.info.run_id, IMPORTANCE_ARTIFACT, str(tmp_path))).read_bytes()
    )
    assert importance["method"] == "linear" and abs(sum(importance["share"].values()) - 1) < 1e-9
    assert raw["global_importance"].value.startswith(f"Mean |attribution| over {feats['test_rows']} test rows")
    links = [
        (name, value)
        for key in ASSETS
        for name, value in _metadata(result, key.key.path[-1], True).items()
        if "://" in str(value.value)
    ]
    assert links and all(isinstance(value, UrlMetadataValue) for _, value in links), links


def test_second_release_records_before_version(defs, instance, client, settings):
    release(defs, instance)
    _, deployed = release(defs, instance)

    assert client.get_registered_model(settings.model_name).aliases == {"B": "2"}
    served = _metadata(deployed, "served_alias")
    assert (served["before_version"], served["after_version"]) == ("1", "2")
    history = alias_moves(instance, alias="B")  # the primary store: Dagster's event log, newest first
    assert [(m.before_version, m.after_version) for m in history] == [("1", "2"), (None, "1")]
    mirrored = mirrored_history(client, settings.model_name, "B")
    assert [(m.before_version, m.after_version) for m in mirrored] == [(None, "1"), ("1", "2")]


def test_failed_gate_registers_nothing_and_keeps_the_alias(settings, client, instance, defs):
    release(defs, instance)
    strict = resources(settings.model_copy(update={"min_accuracy": 1.01}))

    result = materialize(ASSETS + [quality_gate], resources=strict, instance=instance, raise_on_error=False)

    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert check.metadata["threshold"].value == 1.01
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey("registered_model_version") not in materialized
    assert AssetKey("served_alias") not in materialized
    assert [v.version for v in client.search_model_versions(f"name='{settings.model_name}'")] == ["1"]
    assert client.get_registered_model(settings.model_name).aliases == {"B": "1"}
    run_id = _metadata(result, "trained_model")["run_id"]
    assert client.get_run(run_id).data.tags["mlops.quality_gate"] == "failed"


def test_train_job_runs_the_gate(defs, instance):
    result = run_job(defs, instance, "train_job")
    assert result.success
    checks = [e.check_name for e in result.get_asset_check_evaluations()]
    assert checks == ["quality_gate", "replay_gate", "serving_matches_alias"]


def test_a_changed_schema_is_refused_unless_the_run_accepts_it(settings, client, instance, tmp_path):
    from sklearn.datasets import load_iris

    assert materialize(ASSETS + [quality_gate], resources=resources(settings), instance=instance).success
    load_iris(as_frame=True).frame.drop(columns=["petal width (cm)"]).to_csv(tmp_path / "narrower.csv", index=False)
    narrower = resources(settings.model_copy(update={"dataset": str(tmp_path / "narrower.csv")}))

    refused = materialize(ASSETS + [quality_gate], resources=narrower, instance=instance, raise_on_error=False)
    assert not refused.success
    message = step_failure(refused)
    assert "columns differ from" in message and "column 'petal width (cm)' (number) is missing" in message
    assert [v.version for v in client.search_model_versions(f"name='{settings.model_name}'")] == ["1"]

    accept = {"ops": {"features": {"config": {"accept_schema_change": True}}}}
    assert materialize(ASSETS + [quality_gate], resources=narrower, instance=instance, run_config=accept).success
    assert client.get_registered_model(settings.model_name).aliases == {"B": "2"}
