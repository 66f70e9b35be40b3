"""A real OTLP/HTTP trace receiver for tests: what it is sent is parsed with the protocol's own
protobuf classes (strictly: an unknown or mistyped field fails the test), spans kept by name."""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from bench.otlp_sink import OtlpSink


def parsed(body: bytes) -> ExportTraceServiceRequest:
    """OTLP/JSON writes ids as hex where protobuf's JSON mapping has base64: undone, then parsed."""
    request = json.loads(body)
    for resource in request["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.ParseDict(request, ExportTraceServiceRequest())


def attributes(span: Span) -> dict:
    """The span's attributes as plain values."""
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in span.attributes}


class OtlpReceiver(OtlpSink):
    """The bench's sink, keeping every export it gets (headers, body) to parse."""

    def __init__(self) -> None:
        super().__init__(keep=True)

    def requests(self) -> list[ExportTraceServiceRequest]:
        return [parsed(body) for _, body in self.posts]

    def spans(self) -> list[tuple[dict, Span]]:
        """Every span received, with its resource's attributes."""
        return [
            ({kv.key: kv.value.string_value for kv in resource.resource.attributes}, span)
            for request in self.requests()
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
