"""The little of MLflow's REST API the model server and the release path need, over plain HTTP
(`mlops_base.http_transport`): where an
alias points, a version's details and tags, where its artifacts are and the artifacts themselves;
and the writes of an alias move (the alias, the model's history tags).

Neither imports MLflow: the library costs ~2 s and ~50 MB of every replica's start, and ~0.8 s of
every release or rollback run, for a few requests and a file download. Retries and timeouts are
bounded as the core's client's (`mlops_base.mlflow_client`): a dead registry fails in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

from mlops_base.http_transport import NoAnswer, Transport

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
TIMEOUT_S = 10.0
RETRY_AFTER_S = (1.0, 2.0)  # then give up: retries after 1 s and 2 s, as the core's client


class RegistryError(Exception):
    """The registry answered with an error (`status` its HTTP status, `code` MLflow's error code)."""

    def __init__(self, message: str, status: int, code: str = ""):
        super().__init__(message)
        self.status, self.code = status, code

    @property
    def not_found(self) -> bool:
        return self.code == "RESOURCE_DOES_NOT_EXIST"


class RegistryUnreachable(Exception):
    """No answer from the registry (refused, timed out, or a 5xx after the retries)."""


class ModelVersion(NamedTuple):
    version: str
    status: str
    run_id: str
    source: str
    tags: dict[str, str]
    creation_timestamp: int | None = None  # epoch milliseconds


class Run(NamedTuple):
    params: dict[str, str]
    metrics: dict[str, float]  # each metric's latest value
    tags: dict[str, str]


class RegisteredModel(NamedTuple):
    aliases: dict[str, str]  # alias -> version
    tags: dict[str, str]


class RegistryClient:
    def __init__(self, tracking_uri: str, timeout_s: float = TIMEOUT_S):
        self.tracking_uri = tracking_uri.rstrip("/")
        self._http = Transport(self.tracking_uri, timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, str] | None = None, stream_to: Path | None = None) -> Any:
        return self._call("GET", path, params=params, stream_to=stream_to)

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: dict[str, str] | None = None,
        stream_to: Path | None = None,
    ) -> Any:
        """The JSON answer (or, with `stream_to`, the body written there); 5xx, 429 and no answer
        are retried after each of RETRY_AFTER_S (the writes used here are idempotent), 4xx are
        raised at once."""
        payload = None if body is None else json.dumps(body).encode()
        for wait_s in (*RETRY_AFTER_S, None):
            try:
                status, data = self._http.request(method, path, params, payload, stream_to)
                if status == 200:
                    return json.loads(data) if stream_to is None else None
                if status < 500 and status != 429:
                    raise _error(status, data)
                why = f"answered {status}"
            except NoAnswer as exc:
                why = f"did not answer: {exc}"
            if wait_s is None:
                raise RegistryUnreachable(f"{self.tracking_uri} {why}")
            time.sleep(wait_s)

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return _version(self._get(f"{API}/registered-models/alias", {"name": name, "alias": alias})["model_version"])

    def model_version(self, name: str, version: str) -> ModelVersion:
        """RegistryError (RESOURCE_DOES_NOT_EXIST) when there is no such version."""
        return _version(self._get(f"{API}/model-versions/get", {"name": name, "version": version})["model_version"])

    def registered_model(self, name: str) -> RegisteredModel:
        """RegistryError (RESOURCE_DOES_NOT_EXIST) when there is no such model."""
        model = self._get(f"{API}/registered-models/get", {"name": name})["registered_model"]
        return RegisteredModel(
            {entry["alias"]: str(entry["version"]) for entry in model.get("aliases", [])}, _tags(model)
        )

    def run(self, run_id: str) -> Run:
        """A run's parameters, metrics and tags (RegistryError when there is no such run)."""
        data = self._get(f"{API}/runs/get", {"run_id": run_id})["run"].get("data", {})
        return Run(
            {p["key"]: p["value"] for p in data.get("params", [])},
            {m["key"]: float(m["value"]) for m in data.get("metrics", [])},
            {t["key"]: t["value"] for t in data.get("tags", [])},
        )

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._call("POST", f"{API}/registered-models/alias", body={"name": name, "alias": alias, "version": version})

    def delete_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", f"{API}/registered-models/alias", body={"name": name, "alias": alias})

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._call("POST", f"{API}/registered-models/set-tag", body={"name": name, "key": key, "value": value})

    def delete_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", f"{API}/registered-models/delete-tag", body={"name": name, "key": key})

    def download_uri(self, name: str, version: str) -> str:
        return self._get(f"{API}/model-versions/get-download-uri", {"name": name, "version": version})["artifact_uri"]

    def aliases(self, name: str) -> dict[str, str]:
        """Alias -> version of a registered model; RegistryError (RESOURCE_DOES_NOT_EXIST) when none."""
        return self.registered_model(name).aliases

    def download(self, artifact_uri: str, dst: Path) -> Path:
        """The artifacts under `artifact_uri` copied into `dst` (mlflow-artifacts through the tracking
        server, as MLflow's client does; a local path or file URI copied)."""
        parsed = urlparse(artifact_uri)
        if parsed.scheme == "mlflow-artifacts":
            root = unquote(parsed.path).lstrip("/")
            self._download_tree(root, "", dst)
            return dst
        if parsed.scheme in ("", "file"):
            shutil.copytree(unquote(parsed.path), dst, dirs_exist_ok=True)
            return dst
        if parsed.scheme == "s3":
            _download_s3(parsed.netloc, unquote(parsed.path).strip("/"), dst)
            return dst
        raise RegistryError(
            f"artifact URI scheme {parsed.scheme!r} is not served here (mlflow-artifacts, s3, file)", 422
        )

    def run_file(self, run_id: str, path: str, dst: Path) -> Path:
        """One file of a run's artifacts (`path` under its artifact root) copied to `dst`."""
        root = self._get(f"{API}/runs/get", {"run_id": run_id})["run"]["info"]["artifact_uri"]
        parsed, relative = urlparse(root), _safe(path)
        if parsed.scheme == "mlflow-artifacts":
            self._get(f"{ARTIFACTS}/{posixpath.join(unquote(parsed.path).lstrip('/'), relative)}", stream_to=dst)
        elif parsed.scheme in ("", "file"):
            shutil.copyfile(posixpath.join(unquote(parsed.path), relative), dst)
        elif parsed.scheme == "s3":
            import boto3  # only for an s3:// artifact root

            s3 = boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None)
            s3.download_file(parsed.netloc, posixpath.join(unquote(parsed.path).strip("/"), relative), str(dst))
        else:
            raise RegistryError(
                f"artifact URI scheme {parsed.scheme!r} is not served here (mlflow-artifacts, s3, file)", 422
            )
        return dst

    def _download_tree(self, root: str, path: str, dst: Path) -> None:
        listed = self._get(ARTIFACTS, {"path": posixpath.join(root, path) if path else root}).get("files", [])
        for entry in listed:
            name = _safe(entry["path"])
            relative = posixpath.join(path, name) if path else name
            if entry.get("is_dir"):
                (dst / relative).mkdir(parents=True, exist_ok=True)
                self._download_tree(root, relative, dst)
            else:
                (dst / relative).parent.mkdir(parents=True, exist_ok=True)
                self._get(f"{ARTIFACTS}/{posixpath.join(root, relative)}", stream_to=dst / relative)


def _tags(entity: dict) -> dict[str, str]:
    return {tag["key"]: tag.get("value", "") for tag in entity.get("tags", [])}


def _version(found: dict) -> ModelVersion:
    created = found.get("creation_timestamp")
    return ModelVersion(
        str(found["version"]),
        found.get("status", ""),
        found.get("run_id", ""),
        found.get("source", ""),
        _tags(found),
        None if created is None else int(created),
    )


def _safe(relative: str) -> str:
    if not relative or relative.startswith("/") or ".." in relative.split("/"):
        raise RegistryError(f"artifact listing names an unsafe path {relative!r}", 422)
    return relative


def _download_s3(bucket: str, prefix: str, dst: Path) -> None:
    """Every object under the prefix, through boto3 as MLflow's S3 store reads it (its credentials
    from the environment, the endpoint from MLFLOW_S3_ENDPOINT_URL)."""
    import boto3  # only for an s3:// artifact root

    s3 = boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            target = dst / _safe(item["Key"][len(prefix) + 1 :])
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))


def _error(status: int, data: bytes) -> RegistryError:
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or data[:200].decode("utf-8", "replace") or f"HTTP {status}"
    return RegistryError(message, status, body.get("error_code", ""))


class ArtifactMismatch(ValueError):
    """A version's run artifact is not the one the digest on the version names (or is too large)."""


def verified_run_file(
    client: RegistryClient, model_name: str, version: str, digest_tag: str, path: str, max_bytes: int
) -> bytes | None:
    """The bytes of `path` in the version's training run, checked against the SHA-256 in its tag
    `digest_tag`; None when the version has no such tag (trained before the platform logged it)."""
    found = client.model_version(model_name, version)
    digest = found.tags.get(digest_tag)
    if not digest:
        return None
    with tempfile.TemporaryDirectory(prefix="mlops-run-file-") as tmp:
        local = client.run_file(found.run_id, path, Path(tmp) / "artifact")
        if local.stat().st_size > max_bytes:
            raise ArtifactMismatch(f"{path} of v{version} is larger than {max_bytes} bytes")
        data = local.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise ArtifactMismatch(f"{path} of v{version} does not match the version's {digest_tag}")
    return data
