from __future__ import annotations

import time

import pytest

from mlops_platform import processes
from tests.optional_layers.loki.loki_server import LokiStandIn


@pytest.fixture
def loki():
    server = LokiStandIn(processes.free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the test Loki"
        time.sleep(0.05)
