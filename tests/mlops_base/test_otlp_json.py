"""What the OTLP/JSON exporter sends a real HTTP receiver parses as OTLP's ExportTraceServiceRequest
(checked with the protocol's own protobuf classes), the model server's request spans included,
with the headers the SDK's environment names; a refusal is a failed export, never an exception."""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from mlops_base.otlp_json import OtlpJsonExporter
from mlops_base.server_spans import ServerSpans, parent_of
from tests.otlp_receiver import OtlpReceiver, attributes

TRACE, PARENT = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


@pytest.fixture
def receiver():
    receiver = OtlpReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


def test_sdk_spans_and_server_spans_arrive_as_otlp(receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20abc")
    exporter = OtlpJsonExporter(receiver.url)
    provider = TracerProvider(resource=Resource.create({"service.name": "mlops-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("mlops").start_as_current_span("reload", attributes={"n": 3, "ok": True}) as span:
        span.set_attribute("shares", [0.5, 0.5])
        span.add_event("swapped", {"version": "4"})
    server_spans = ServerSpans(exporter, provider.resource, "mlops")
    headers = [(b"traceparent", f"00-{TRACE}-{PARENT}-01".encode()), (b"tracestate", b"vendor=1")]
    with server_spans.span("POST", "/predict", "/predict", headers) as answered:
        answered(503)
    with server_spans.span("POST", "/variant/{alias}/predict", "/variant/A/predict", []) as answered:
        answered(200)
    with pytest.raises(KeyError), server_spans.span("POST", "/predict", "/predict", []):
        raise KeyError("broken")
    server_spans.shutdown()

    assert len(receiver.posts) == 2
    assert all(
        h["Content-Type"] == "application/json" and h["authorization"] == "Bearer abc" for h, _ in receiver.posts
    )
    (resource, reload), *served = receiver.spans()
    assert resource["service.name"] == "mlops-test" and reload.kind == Span.SPAN_KIND_INTERNAL
    values = attributes(reload)
    assert values["n"] == 3 and values["ok"] is True and reload.events[0].name == "swapped"
    assert [v.double_value for v in values["shares"].values] == [0.5, 0.5]
    child, root, failed = (span for _, span in served)
    assert child.trace_id.hex() == TRACE and child.parent_span_id.hex() == PARENT and child.trace_state == "vendor=1"
    assert child.name == "POST /predict" and child.kind == Span.SPAN_KIND_SERVER
    assert child.status.code == Status.STATUS_CODE_ERROR and attributes(child)["http.response.status_code"] == 503
    assert child.end_time_unix_nano >= child.start_time_unix_nano > 0
    assert root.trace_id.hex() != TRACE and not root.parent_span_id and root.status.code == Status.STATUS_CODE_UNSET
    assert attributes(root) == {
        "http.request.method": "POST",
        "http.route": "/variant/{alias}/predict",
        "url.path": "/variant/A/predict",
        "http.response.status_code": 200,
    }
    assert failed.status.code == Status.STATUS_CODE_ERROR and failed.status.message == "KeyError: 'broken'"


@pytest.mark.parametrize(
    "value",
    [
        f"00-{TRACE.upper()}-{PARENT}-01",  # upper case
        f"ff-{TRACE}-{PARENT}-01",  # the forbidden version
        f"00-{'0' * 32}-{PARENT}-01",  # an all-zero trace id
        f"00-{TRACE}-{PARENT}-1",  # short
        f"00-0x{TRACE[2:]}-{PARENT}-01",  # what int() would take
    ],
)
def test_an_invalid_traceparent_starts_a_trace_of_its_own(value):
    assert parent_of([(b"traceparent", value.encode())]) is None
    assert parent_of([(b"traceparent", f"00-{TRACE}-{PARENT}-01".encode())])[:2] == (int(TRACE, 16), int(PARENT, 16))


def test_a_refusing_or_absent_receiver_is_a_failed_export(receiver):
    receiver.status = 400
    span = TracerProvider().get_tracer("mlops").start_span("x")
    span.end()
    assert OtlpJsonExporter(receiver.url).export([span]) == SpanExportResult.FAILURE and len(receiver.posts) == 1
    assert OtlpJsonExporter("http://127.0.0.1:9").export([span]) == SpanExportResult.FAILURE
