"""Resolve an alias or version in the registry to a model reference and a safe artifact URI."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from serving.runtimes.base import ModelLoadError, ModelRef


def _under(path: str, base: str) -> bool:
    """`path` is `base` or inside it: a prefix only counts at a path boundary (`/models` does not
    contain `/models-evil`)."""
    base = base.rstrip("/")
    return path.rstrip("/") == base or path.startswith(base + "/")


def check_artifact_location(uri: str, roots: list[str]) -> None:
    """Refuse artifact URIs outside the configured roots, and any path with a `..` segment.

    Compared parsed: scheme, host and path must match a root's, the path at a path boundary;
    local paths are resolved first, so a symlink out of a root is outside it."""
    decoded = unquote(uri)
    if ".." in decoded.replace("\\", "/").split("/"):
        raise ModelLoadError(f"artifact location {uri!r} contains '..'; refused", status=403)
    parsed = urlparse(decoded)
    for root in roots:
        root_parsed = urlparse(root)
        if parsed.scheme in ("", "file") and root_parsed.scheme in ("", "file"):
            if parsed.netloc not in ("", "localhost"):
                continue
            if _under(os.path.realpath(parsed.path), os.path.realpath(root_parsed.path)):
                return
        elif (parsed.scheme, parsed.netloc) == (root_parsed.scheme, root_parsed.netloc) and _under(
            parsed.path or "/", root_parsed.path or "/"
        ):
            return
    raise ModelLoadError(
        f"artifact location {uri!r} is outside the allowed roots {roots}; refused", status=403
    )


def resolve(client: MlflowClient, model_name: str, roots: list[str], alias: str) -> tuple[ModelRef, str]:
    """The model version an alias names, and where its artifacts are."""
    label = f"{model_name}@{alias}"
    try:
        model_version = client.get_model_version_by_alias(model_name, alias)
        artifact_uri = client.get_model_version_download_uri(model_name, model_version.version)
    except RestException as exc:
        raise ModelLoadError(f"{label} not found in the registry: {exc.message}", status=404) from exc
    except MlflowException as exc:
        raise ModelLoadError(f"registry unreachable while resolving {label}", status=503) from exc
    if model_version.status != "READY":
        raise ModelLoadError(f"{label} is {model_version.status}, not READY", status=409)
    check_artifact_location(artifact_uri, roots)
    ref = ModelRef(
        client.tracking_uri, model_name, str(model_version.version), model_version.run_id or "", model_version.source
    )
    return ref, artifact_uri
