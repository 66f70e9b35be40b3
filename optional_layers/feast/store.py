"""The env's Feast feature store, configured from its settings: the local provider, the file
offline store and a file registry under the env's state dir, the online store in SQLite there or
in Redis (`FEAST_ONLINE_STORE=redis://host:port[/db]`)."""

from __future__ import annotations

import re
from pathlib import Path

from feast import FeatureStore
from feast.repo_config import RepoConfig

from mlops_base.settings import Settings
from optional_layers.feast.settings import FeastSettings


def feast_dir(settings: Settings) -> Path:
    return settings.state_dir / "feast"


def offline_path(settings: Settings) -> Path:
    """The file offline store: every ingested dataset row, with its event timestamp."""
    return feast_dir(settings) / "offline" / "features.parquet"


def project(settings: Settings) -> str:
    """The Feast project of the env (Redis keys are prefixed with it, so envs may share a Redis)."""
    return "mlops_" + re.sub(r"[^A-Za-z0-9_]", "_", settings.mlops_env)


def online_store(settings: Settings) -> dict:
    url = FeastSettings.of(settings).feast_online_store
    if not url:
        return {"type": "sqlite", "path": str(feast_dir(settings) / "online.db")}
    address, _, db = url.removeprefix("redis://").partition("/")
    return {"type": "redis", "connection_string": f"{address},db={db or 0}"}


def repo_config(settings: Settings) -> RepoConfig:
    folder = feast_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    return RepoConfig(
        project=project(settings),
        provider="local",
        registry=str(folder / "registry.db"),
        online_store=online_store(settings),
        offline_store={"type": "file"},
        entity_key_serialization_version=3,
        repo_path=str(folder),
    )


def feature_store(settings: Settings) -> FeatureStore:
    """The env's store (building one reads the registry: a process keeps the one it built)."""
    return FeatureStore(config=repo_config(settings))
