"""Feast layer fixtures: a real `redis-server` (Debian, installed by `./mlops test`), started on
loopback and stopped by PID; settings with the layer's store under the test's own state dir."""

from __future__ import annotations

import shutil

import pytest

from mlops_platform import processes


@pytest.fixture
def redis_url(tmp_path) -> str:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (./mlops test installs Debian's redis-server)")
    service = processes.start_redis(tmp_path)
    try:
        yield service.url
    finally:
        processes.stop(service)


@pytest.fixture(params=["sqlite", "redis"])
def online_store(request) -> str:
    """FEAST_ONLINE_STORE: empty (SQLite under the state dir) or a real Redis."""
    return request.getfixturevalue("redis_url") if request.param == "redis" else ""


@pytest.fixture
def feast_settings(settings, online_store):
    return settings.model_copy(update={"feast_online_store": online_store, "feast_entity_key": "flower_id"})
