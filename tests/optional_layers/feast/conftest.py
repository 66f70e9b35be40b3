"""Feast layer fixtures: a real `redis-server` (Debian, installed by `./mlops test`), started on
loopback and stopped by PID; settings with the layer's store under the test's own state dir."""

from __future__ import annotations

import shutil

import pytest

from mlops_platform import processes


def _start_redis(data_dir) -> processes.Service:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (./mlops test installs Debian's redis-server)")
    return processes.start_redis(data_dir)


@pytest.fixture
def redis_url(tmp_path) -> str:
    service = _start_redis(tmp_path)
    try:
        yield service.url
    finally:
        processes.stop(service)


@pytest.fixture(scope="module")
def redis_service(tmp_path_factory) -> processes.Service:
    """One Redis for a module's shared pipeline (a test may stop it)."""
    service = _start_redis(tmp_path_factory.mktemp("feast-redis"))
    try:
        yield service
    finally:
        processes.stop(service)


@pytest.fixture(params=["sqlite", "redis"])
def online_store(request) -> str:
    """FEAST_ONLINE_STORE: empty (SQLite under the state dir) or a real Redis."""
    return request.getfixturevalue("redis_url") if request.param == "redis" else ""


@pytest.fixture
def feast_settings(settings, online_store, monkeypatch):
    """The test's settings; the layer's own (FEAST_*) come from the environment, as in a pod."""
    monkeypatch.setenv("FEAST_ONLINE_STORE", online_store)
    monkeypatch.setenv("FEAST_ENTITY_KEY", "flower_id")
    return settings
