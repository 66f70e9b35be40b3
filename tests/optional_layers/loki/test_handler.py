"""The Loki push handler against the test Loki (tests/optional_layers/loki/loki_server.py, a
stand-in: Grafana Loki cannot be installed on these machines): labels and lines arrive, order
within a stream holds, emit never waits while Loki is down and drops are counted, sending
recovers when Loki returns, close flushes."""

from __future__ import annotations

import logging

from mlops_base.log_context import request_id
from mlops_platform import processes
from optional_layers.loki.formatter import JsonFormatter
from optional_layers.loki.handler import LokiHandler
from tests.optional_layers.loki.conftest import wait_for
from tests.optional_layers.loki.loki_server import LokiStandIn


def _logger(handler: logging.Handler, name: str) -> logging.Logger:
    log = logging.getLogger(f"test.loki.{name}")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.handlers = [handler]
    return log


def _handler(url: str, **kwargs) -> LokiHandler:
    return LokiHandler(url, JsonFormatter("dev", "serving", secrets=("s3cret-token",)), batch_wait_s=0.05, **kwargs)


def test_labels_lines_metadata_and_order_within_a_stream(loki):
    handler = _handler(loki.url)
    log = _logger(handler, "order")
    token = request_id.set("req-42")
    try:
        for i in range(300):
            log.info("line %d", i, extra={"alias": "B" if i % 2 else "A", "version": str(i)})
        log.warning("token s3cret-token leaked?")
    finally:
        request_id.reset(token)
    handler.close()

    entries = loki.entries()
    assert len(entries) == 301 and handler.sent == 301 and handler.dropped == 0
    by_alias = {alias: [line for labels, line, _ in entries if labels.get("alias") == alias] for alias in "AB"}
    assert by_alias["A"] == [f"info test.loki.order: line {i}" for i in range(0, 300, 2)]
    assert by_alias["B"] == [f"info test.loki.order: line {i}" for i in range(1, 300, 2)]
    labels, _, metadata = entries[0]
    assert labels == {"env": "dev", "component": "serving", "alias": "A"}
    assert metadata["request_id"] == "req-42" and metadata["version"] == "0" and metadata["level"] == "info"
    assert entries[-1][1] == "warning test.loki.order: token *** leaked?"


def test_while_loki_is_down_emit_never_waits_and_drops_are_counted_then_sending_recovers():
    port = processes.free_port()  # nothing listens yet: Loki is down
    handler = _handler(f"http://127.0.0.1:{port}", capacity=100, max_backoff_s=0.5)
    log = _logger(handler, "down")
    for i in range(1_000):
        log.info("while down %d", i)  # returns at once: the queue takes 100, the rest is dropped and counted
    assert handler.dropped >= 1_000 - 100 - handler.batch_size
    wait_for(lambda: handler.failed_pushes >= 1)

    loki = LokiStandIn(port).start()
    try:
        # the queue was full while Loki was down (a record then is dropped, by design): log once it has drained
        wait_for(lambda: handler.sent > 0 and handler.queue.empty())
        log.info("after recovery")
        wait_for(lambda: any(line.endswith("after recovery") for _, line, _ in loki.entries()))
        # Loki holds the line before the handler has its answer and counts it sent
        wait_for(lambda: handler.sent + handler.dropped == 1_001)
        handler.close()
    finally:
        loki.stop()


def test_close_flushes_what_is_queued(loki):
    handler = LokiHandler(loki.url, JsonFormatter("dev", "dagster"), batch_wait_s=2.0)  # would wait 2 s per batch
    log = _logger(handler, "flush")
    for i in range(50):
        log.info("queued %d", i)
    handler.close()
    assert [line for _, line, _ in loki.entries()] == [f"info test.loki.flush: queued {i}" for i in range(50)]


def test_the_test_loki_refuses_what_loki_refuses(loki):
    import httpx

    assert (
        httpx.post(loki.url + "/loki/api/v1/push", json={"streams": [{"stream": {}, "values": [[1, "x"]]}]}).status_code
        == 400
    )
    assert (
        httpx.post(
            loki.url + "/loki/api/v1/push", content=b"\x00", headers={"content-type": "application/x-protobuf"}
        ).status_code
        == 415
    )
