"""Tracing to a real OTLP/HTTP receiver (fast tier: the real app on fakes): the server's request
spans, a release's reload as children of the caller's trace (load, smoke test, swap), the trace id
in the JSON logs and in the headers to Triton; off: no middleware, no span."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from mlops_base import tracing
from optional_layers.loki.formatter import context_of
from serving.runtimes.triton import _trace_headers
from tests.fakes import fake_server
from tests.otlp_receiver import OtlpReceiver, attributes
from tests.support import TOKEN

ROW = [1.0, 2.0, 3.0, 4.0]


@pytest.fixture
def spans():
    receiver = OtlpReceiver()
    assert tracing.configure("mlops-serving-test", receiver.url)
    try:
        yield receiver
    finally:
        tracing.reset()
        receiver.close()


def _finished(receiver: OtlpReceiver) -> list[Span]:
    """The spans exported so far (the server's request spans by a thread of their own)."""
    tracing.flush()
    return [span for _, span in receiver.spans()]


def _names(receiver: OtlpReceiver) -> list[str]:
    return [span.name for span in _finished(receiver)]


def test_a_reload_is_a_child_of_the_callers_trace_with_load_smoke_test_and_swap(spans):
    with fake_server(tracing_sample_ratio=1.0) as (client, registry):
        registry.aliases["B"] = "3"
        with tracing.span("served_alias", alias="B", version="3") as parent:
            headers = tracing.inject({"Authorization": f"Bearer {TOKEN}"})
            assert headers["traceparent"].split("-")[1] == format(parent.get_span_context().trace_id, "032x")
            assert client.post("/variant/B/reload", headers=headers).status_code == 200
        assert client.post("/predict", json={"data": [ROW]}).status_code == 200
        assert client.get("/health").status_code == 200

    finished = {span.name: span for span in _finished(spans)}
    trace_id = finished["served_alias"].trace_id
    for name in ("load", "smoke_test", "swap"):
        assert finished[name].trace_id == trace_id, name
    assert attributes(finished["load"])["version"] == "3"
    assert finished["POST /variant/{alias}/reload"].parent_span_id == finished["served_alias"].span_id
    assert "POST /predict" in finished and finished["POST /predict"].trace_id != trace_id
    assert not [n for n in finished if n.startswith("GET /health")]  # probes are not traced


def test_scoring_requests_are_sampled_at_the_edge_parent_first(spans):
    """Ratio 0: no root request is traced; a caller's sampled traceparent always is (a child of its
    span), an unsampled one never; control routes always."""
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}"
    with fake_server(tracing_sample_ratio=0.0) as (client, _):
        for _ in range(20):
            assert client.post("/predict", json={"data": [ROW]}).status_code == 200
        assert client.post("/predict", json={"data": [ROW]}, headers={"traceparent": parent.format(flags="00")})
        assert not [n for n in _names(spans) if n.startswith("POST /predict")]
        sampled = {"traceparent": parent.format(flags="01")}
        assert client.post("/predict", json={"data": [ROW]}, headers=sampled).status_code == 200
        assert client.post("/predict", json={"data": [[1.0]]}, headers=sampled).status_code == 422
        assert client.post("/variant/A/predict", json={"data": [ROW]}, headers=sampled).status_code == 200
        assert client.post("/variant/B/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finished = {span.name: span for span in _finished(spans)}
    traced = [s for s in _finished(spans) if s.name == "POST /predict"]
    assert len(traced) == 2 and {s.trace_id.hex() for s in traced} == {parent.split("-")[1]}
    # made on the direct path as the instrumentation would: a server span, the caller's its parent
    assert all(s.kind == Span.SPAN_KIND_SERVER and s.parent_span_id.hex() == parent.split("-")[2] for s in traced)
    assert [attributes(s)["http.response.status_code"] for s in traced] == [200, 422]
    assert attributes(finished["POST /variant/{alias}/predict"])["url.path"] == "/variant/A/predict"
    assert "POST /variant/{alias}/reload" in finished


def test_the_trace_id_reaches_the_logs_and_the_headers_to_triton(spans):
    record = logging.LogRecord("serving", logging.INFO, __file__, 1, "reloaded", None, None)
    assert "trace_id" not in context_of(record)
    with tracing.span("request") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        assert context_of(record)["trace_id"] == trace_id
        assert _trace_headers()["traceparent"].split("-")[1] == trace_id


def test_off_no_middleware_no_span_no_header():
    assert not tracing.enabled()
    with fake_server() as (client, _):
        assert not any("OpenTelemetry" in m.cls.__name__ for m in client.app.user_middleware)
        assert client.post("/predict", json={"data": [ROW]}).status_code == 200
    with tracing.span("anything") as span:
        assert span is None
    assert tracing.inject({}) == {} and _trace_headers() is None and tracing.current_trace_id() is None
