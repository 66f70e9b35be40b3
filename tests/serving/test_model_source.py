"""Artifacts load only from under the configured roots; `..` (also URL-encoded), prefix tricks,
foreign hosts and symlinks out of a root never pass; a version is a number (it becomes a header)."""

from __future__ import annotations

import pytest

from mlops_base.registry_rest import ModelVersion
from mlops_base.settings import load_settings
from serving.model_source import check_artifact_location, resolve
from serving.runtimes.base import ModelLoadError


@pytest.mark.parametrize(
    "uri",
    [
        "mlflow-artifacts:/1/models/m-abc/artifacts",
        "s3://bucket/mlflow/1/models/m-abc/artifacts",
        "file:///srv/mlflow/artifacts/1/model",
        "/srv/mlflow/artifacts/1/model",
    ],
)
def test_locations_under_a_root_are_allowed(uri):
    check_artifact_location(uri, ["mlflow-artifacts:/", "s3://bucket/mlflow/", "file:///srv/mlflow/artifacts"])


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("file:///etc/passwd", "outside the allowed roots"),
        ("file:///srv/mlflow/artifacts-evil/x", "outside the allowed roots"),
        ("mlflow-artifacts:/1/../../etc/shadow", "contains '..'"),
        ("mlflow-artifacts:/1/%2e%2e/%2e%2e/etc", "contains '..'"),
        ("file:///srv/mlflow/artifacts/../../etc", "contains '..'"),
        ("s3://other-bucket/mlflow/1", "outside the allowed roots"),
        ("s3://bucket/mlflow-evil/1", "outside the allowed roots"),
        ("mlflow-artifacts://evil.example.com/1/models/m", "outside the allowed roots"),
        ("file://evil.example.com/srv/mlflow/artifacts/1", "outside the allowed roots"),
        ("https://example.com/model.pkl", "outside the allowed roots"),
        ("mlflow-artifacts:/1/%2E%2E%2F%2E%2E/etc", "contains '..'"),
    ],
)
def test_other_locations_are_refused(uri, reason):
    with pytest.raises(ModelLoadError, match=reason) as refused:
        check_artifact_location(uri, ["mlflow-artifacts:/", "s3://bucket/mlflow/", "file:///srv/mlflow/artifacts"])
    assert refused.value.status == 403


@pytest.mark.parametrize("env", ["prod", "prod-local"])
def test_prod_envs_load_only_what_the_tracking_server_proxies(env):
    """In prod the artifacts sit in S3 behind the MLflow server: the model server has no S3
    credentials and takes nothing from the bucket, the disk or anywhere else directly."""
    settings = load_settings(env)
    roots = [r.strip() for r in settings.model_artifact_roots.split(",") if r.strip()]

    check_artifact_location("mlflow-artifacts:/1/models/m-abc/artifacts", roots)
    for uri in (
        f"{settings.mlflow_artifacts_destination}/1/models/m-abc/artifacts",
        "s3://elsewhere/m",
        "file:///etc/passwd",
        "/srv/mlflow/artifacts/1/model",
        "https://example.com/model.pkl",
    ):
        with pytest.raises(ModelLoadError, match="outside the allowed roots"):
            check_artifact_location(uri, roots)


def test_a_prefix_counts_only_at_a_path_boundary():
    check_artifact_location("s3://bucket/models", ["s3://bucket/models/"])
    check_artifact_location("s3://bucket/models/v1/model", ["s3://bucket/models"])
    with pytest.raises(ModelLoadError, match="outside the allowed roots"):
        check_artifact_location("s3://bucket/models-evil/v1/model", ["s3://bucket/models"])


def test_a_symlink_out_of_a_local_root_is_outside_it(tmp_path):
    root = tmp_path / "artifacts"
    (root / "1").mkdir(parents=True)
    (root / "1" / "escape").symlink_to("/etc")
    check_artifact_location(f"file://{root}/1/model", [f"file://{root}"])
    with pytest.raises(ModelLoadError, match="outside the allowed roots"):
        check_artifact_location(f"file://{root}/1/escape/passwd", [f"file://{root}"])


class _Registry:
    """Answers as a registry whose version field was written by someone else (a stand-in: the
    check is on what any registry answers)."""

    tracking_uri = "http://registry"

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return ModelVersion("7\r\nset-cookie: stolen=1", "READY", "run", "source", {})

    def download_uri(self, name: str, version: str) -> str:
        return "mlflow-artifacts:/1/models/m/artifacts"


def test_a_version_that_is_not_a_number_is_refused():
    with pytest.raises(ModelLoadError, match="not a number") as refused:
        resolve(_Registry(), "m", ["mlflow-artifacts:/"], "A")
    assert refused.value.status == 422
