"""Where the model server's models come from: resolve an alias in the registry to a model reference
and a safe artifact URI, and download its artifacts verified against their logged digest.

`ModelSource` is the seam: the server is handed one (`RegistrySource`, the env's MLflow registry,
unless a test hands it a fake that needs no registry)."""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from mlops_base.artifact_digest import DIGEST_TAG, directory_digest
from mlops_base.registry_rest import RegisteredModel, RegistryClient, RegistryError, RegistryUnreachable
from mlops_base.settings import Settings
from serving.runtimes.base import ModelLoadError, ModelRef

_log = logging.getLogger("serving.model_source")


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
    raise ModelLoadError(f"artifact location {uri!r} is outside the allowed roots {roots}; refused", status=403)


def resolve(client: RegistryClient, model_name: str, roots: list[str], alias: str) -> tuple[ModelRef, str]:
    """The model version an alias names, and where its artifacts are."""
    return _reference(
        client, model_name, roots, f"{model_name}@{alias}", partial(client.version_by_alias, model_name, alias)
    )


def resolve_version(client: RegistryClient, model_name: str, roots: list[str], version: str) -> tuple[ModelRef, str]:
    """A model version by its number (a batch pins the one its alias named when it began), and where
    its artifacts are: checked as an alias's version is."""
    return _reference(
        client, model_name, roots, f"{model_name} v{version}", partial(client.model_version, model_name, version)
    )


def _reference(client: RegistryClient, model_name: str, roots: list[str], label: str, lookup) -> tuple[ModelRef, str]:
    try:
        model_version = lookup()
        artifact_uri = client.download_uri(model_name, model_version.version)
    except RegistryError as exc:
        raise ModelLoadError(f"{label} not found in the registry: {exc}", status=404) from exc
    except RegistryUnreachable as exc:
        raise ModelLoadError(f"registry unreachable while resolving {label}", status=503) from exc
    if model_version.status != "READY":
        raise ModelLoadError(f"{label} is {model_version.status}, not READY", status=409)
    if not model_version.version.isdigit():  # MLflow's are; it is sent as a header, unchecked
        raise ModelLoadError(f"{label}: the registry names version {model_version.version!r}, not a number", status=422)
    check_artifact_location(artifact_uri, roots)
    ref = ModelRef(
        client.tracking_uri,
        model_name,
        model_version.version,
        model_version.run_id,
        model_version.source,
        digest=model_version.tags.get(DIGEST_TAG),
    )
    return ref, artifact_uri


def watched(client: RegistryClient, model_name: str) -> RegisteredModel:
    """Every alias of the model and the version it names, and the model's tags (the ramp's step),
    in one registry call (none of either before the model is registered)."""
    try:
        return client.registered_model(model_name)
    except RegistryError as exc:
        if exc.not_found:
            return RegisteredModel({}, {})
        raise ModelLoadError(f"registry refused to list {model_name}'s aliases: {exc}", status=503) from exc
    except RegistryUnreachable as exc:
        raise ModelLoadError(f"registry unreachable while listing {model_name}'s aliases", status=503) from exc


class ModelSource(Protocol):
    def resolve(self, alias: str) -> tuple[ModelRef, str]:
        """The version `alias` names now and where its artifacts are; ModelLoadError (with the
        status the reload answers) when it cannot say."""

    def watched(self) -> RegisteredModel:
        """Alias -> version for every alias set now, and the model's tags, in one cheap call (the
        replica's watch); ModelLoadError when the registry cannot answer."""


class RegistrySource:
    """The env's MLflow registry, over its REST API (bounded: a dead registry fails in seconds)."""

    def __init__(self, settings: Settings):
        self.tracking_uri = settings.mlflow_tracking_uri
        self.model_name = settings.model_name
        self.roots = [r.strip() for r in settings.model_artifact_roots.split(",") if r.strip()]
        self.client = RegistryClient(self.tracking_uri)

    def resolve(self, alias: str) -> tuple[ModelRef, str]:
        return resolve(self.client, self.model_name, self.roots, alias)

    def resolve_version(self, version: str) -> tuple[ModelRef, str]:
        return resolve_version(self.client, self.model_name, self.roots, version)

    def watched(self) -> RegisteredModel:
        return watched(self.client, self.model_name)


def download(ref: ModelRef, artifact_uri: str, dst: str, allow_unverified: bool = False) -> Path:
    """The version's artifacts in `dst`, refused (422) when they no longer match the digest logged at
    training (bytes changed in the artifact store after registration are never served), or when no
    digest was logged, unless `allow_unverified` (MODEL_ALLOW_UNVERIFIED)."""
    client = RegistryClient(ref.registry_uri)
    try:
        local = client.download(artifact_uri, Path(dst))
    except (RegistryError, RegistryUnreachable) as exc:
        raise ModelLoadError(f"{ref.model_name} v{ref.version}: artifacts could not be downloaded: {exc}") from exc
    finally:
        client.close()
    if ref.digest is None:
        if not allow_unverified:
            raise ModelLoadError(
                f"{ref.model_name} v{ref.version} has no logged {DIGEST_TAG}: its artifacts cannot be verified; "
                "refused (register versions through the platform's training, or set MODEL_ALLOW_UNVERIFIED=true)"
            )
        _log.warning(
            "%s v%s has no logged %s: its artifacts cannot be verified", ref.model_name, ref.version, DIGEST_TAG
        )
    elif (found := directory_digest(local)) != ref.digest:
        raise ModelLoadError(
            f"{ref.model_name} v{ref.version}: artifacts changed since registration (sha256 {found[:12]}..., "
            f"logged {ref.digest[:12]}...); refused"
        )
    return local
