"""Feast layer fixtures: a real `redis-server` (Debian, installed by `./mlops test`), started on
loopback and stopped by PID; settings with the layer's store under the test's own state dir."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis

from mlops_platform import processes


@pytest.fixture
def redis_url(tmp_path) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (./mlops test installs Debian's redis-server)")
    port = processes.free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["sqlite", "redis"])
def online_store(request) -> str:
    """FEAST_ONLINE_STORE: empty (SQLite under the state dir) or a real Redis."""
    return request.getfixturevalue("redis_url") if request.param == "redis" else ""


@pytest.fixture
def feast_settings(settings, online_store):
    return settings.model_copy(update={"feast_online_store": online_store, "feast_entity_key": "flower_id"})
