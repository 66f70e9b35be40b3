"""Our client of MLflow's REST API answers and writes what MLflow's client does, against a real
`mlflow server`; neither the model server nor the release path imports MLflow. S3 is moto's server (a stand-in: no S3
server can be installed on this machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow.artifacts
import pytest
from mlflow import MlflowClient

from mlops_base.artifact_digest import DIGEST_TAG, directory_digest
from mlops_base.registry_rest import RegistryClient, RegistryError, RegistryUnreachable
from mlops_base.settings import REPO_ROOT
from mlops_platform import local_storage, processes


@pytest.fixture
def client(mlflow_server):
    registry = RegistryClient(mlflow_server)
    try:
        yield registry
    finally:
        registry.close()


def test_aliases_versions_and_tags_are_mlflows(client, mlflow_server, shared_model):
    theirs = MlflowClient(mlflow_server)
    assert client.aliases(shared_model.name) == {"A": shared_model.versions[0], "B": shared_model.versions[1]}
    mine = client.version_by_alias(shared_model.name, "B")
    expected = theirs.get_model_version_by_alias(shared_model.name, "B")
    assert (mine.version, mine.status, mine.run_id, mine.source) == (
        expected.version,
        expected.status,
        expected.run_id,
        expected.source,
    )
    assert mine.tags[DIGEST_TAG] == expected.tags[DIGEST_TAG]
    assert client.download_uri(shared_model.name, mine.version) == theirs.get_model_version_download_uri(
        shared_model.name, mine.version
    )


def test_alias_and_tag_writes_are_what_mlflows_client_reads(client, mlflow_server, fresh_model):
    theirs = MlflowClient(mlflow_server)
    name, (v1, v2) = fresh_model.name, fresh_model.versions
    client.set_alias(name, "A", v2)
    client.set_model_tag(name, "alias_history.A.1", '{"moved": true}')
    model = theirs.get_registered_model(name)
    assert model.aliases["A"] == v2 and model.tags["alias_history.A.1"] == '{"moved": true}'
    assert client.registered_model(name) == (model.aliases, model.tags)
    client.delete_alias(name, "A")
    client.delete_model_tag(name, "alias_history.A.1")
    model = theirs.get_registered_model(name)
    assert "A" not in model.aliases and "alias_history.A.1" not in model.tags
    mine, expected = client.model_version(name, v1), theirs.get_model_version(name, v1)
    assert (mine.status, mine.run_id, mine.creation_timestamp) == (
        expected.status,
        expected.run_id,
        expected.creation_timestamp,
    )
    with pytest.raises(RegistryError) as missing:
        client.model_version(name, "999")
    assert missing.value.code == "RESOURCE_DOES_NOT_EXIST" and missing.value.not_found


def test_downloaded_artifacts_match_the_logged_digest(client, shared_model, tmp_path):
    version = client.version_by_alias(shared_model.name, "A")
    local = client.download(client.download_uri(shared_model.name, version.version), tmp_path / "model")
    assert (local / "MLmodel").is_file()
    assert directory_digest(local) == version.tags[DIGEST_TAG]


def test_unknown_names_are_registry_errors_and_a_dead_registry_is_unreachable(client):
    with pytest.raises(RegistryError) as missing:
        client.aliases("no-such-model")
    assert missing.value.code == "RESOURCE_DOES_NOT_EXIST" and missing.value.not_found
    with pytest.raises(RegistryError):
        client.version_by_alias("no-such-model", "A")
    dead = RegistryClient(f"http://127.0.0.1:{processes.free_port()}", timeout_s=1)
    with pytest.raises(RegistryUnreachable):
        dead.aliases("any")


@pytest.mark.real
def test_s3_artifacts_are_downloaded_with_boto3(tmp_path, monkeypatch, mlflow_server, shared_model):
    source = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=MlflowClient(mlflow_server).get_model_version_download_uri(shared_model.name, "1"),
            dst_path=str(tmp_path / "source"),
            tracking_uri=mlflow_server,
        )
    )
    s3_service = local_storage.start_s3(processes.free_port(), tmp_path / "s3.log")
    try:
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_service.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", local_storage.MOTO_ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", local_storage.MOTO_SECRET_KEY)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        import boto3

        s3 = boto3.client("s3", endpoint_url=s3_service.url)
        s3.create_bucket(Bucket="models")
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            s3.upload_file(str(path), "models", f"mlflow/1/{path.relative_to(source)}")
        local = RegistryClient(mlflow_server).download("s3://models/mlflow/1", tmp_path / "model")
        assert directory_digest(local) == directory_digest(source)
    finally:
        processes.stop(s3_service)


def test_the_model_server_imports_neither_mlflow_nor_httpx():
    script = (
        "import sys\n"
        "from mlops_base.settings import load_settings\n"
        "from layer_api.manager import LayerManager\n"
        "from serving.main import create_app\n"
        "create_app(s := load_settings('dev', mlflow_tracking_uri='http://127.0.0.1:9'), LayerManager(s, set()))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'httpx')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"  # each costs start time (mlflow ~2 s, httpx ~70 ms)


def test_the_release_path_imports_no_mlflow(mlflow_server, fresh_model):
    """An alias move as `served_alias` makes it (no model server to swap here): every release and
    rollback run saves MLflow's import."""
    script = (
        "import logging, sys\n"
        "from core_assets.release.move import release\n"
        "from core_assets.release.registry import PlannedMove\n"
        "from mlops_base.registry_rest import RegistryClient\n"
        f"plan = PlannedMove({fresh_model.name!r}, 'A', {fresh_model.versions[1]!r}, 'test', 'release', 'test', 'r')\n"
        f"with RegistryClient({mlflow_server!r}) as client:\n"
        "    done = release(client, None, plan, logging.getLogger())\n"
        "print(done.move.before_version, done.move.after_version)\n"
        "print(sorted(m for m in sys.modules if m == 'mlflow' or m.startswith('mlflow.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [f"{fresh_model.versions[0]} {fresh_model.versions[1]}", "[]"]
    assert MlflowClient(mlflow_server).get_registered_model(fresh_model.name).aliases["A"] == fresh_model.versions[1]
