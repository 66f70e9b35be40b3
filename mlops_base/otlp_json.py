"""Spans out over OTLP/HTTP as JSON (the protocol's `http/json` encoding), for every process the
platform traces.

Why not the SDK's OTLP exporter: it builds a protobuf message per span in Python, 26 us a span
here (profiled, the model server with every request traced), a third of what a whole untraced
request costs; the same span as JSON text from a template costs ~5 us, and the model server's
request spans (`server_spans`) ~4.5 us of their export thread in all, the POST included.
Collectors (the OpenTelemetry Collector, Jaeger, Tempo) take both encodings on the same
`/v1/traces`. The exporter honours the SDK's environment for where and how:
OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _TIMEOUT and _CERTIFICATE.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.re import parse_env_headers

_log = logging.getLogger("mlops.tracing")


def _setting(name: str, default: str = "") -> str:
    """The traces-specific variable, else the general one (as the SDK reads them)."""
    return os.environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}") or os.environ.get(f"OTEL_EXPORTER_OTLP_{name}", default)


def any_value(value: Any) -> dict[str, Any]:
    """An attribute value as OTLP/JSON's AnyValue (64-bit integers as strings, as the mapping says)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return {"arrayValue": {"values": [any_value(item) for item in value]}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in (attributes or {}).items()]


_SPAN = (
    '{"traceId":"%032x","spanId":"%016x",%s"name":%s,"kind":%d,"startTimeUnixNano":"%d",'
    '"endTimeUnixNano":"%d","attributes":[%s],"status":%s%s}'
)
_UNSET = '{"code":0}'
_attributes: dict[tuple[str, type, Any], str] = {}  # a request's attributes repeat: encoded once
_MAX_KEPT = 10_000


def _attribute(key: str, value: Any) -> str:
    try:
        return _attributes[key, type(value), value]
    except KeyError:
        text = orjson.dumps({"key": key, "value": any_value(value)}).decode()
        if len(_attributes) < _MAX_KEPT:
            _attributes[key, type(value), value] = text
        return text
    except TypeError:  # a list: not kept
        return orjson.dumps({"key": key, "value": any_value(value)}).decode()


def span_json(span: ReadableSpan) -> str:
    """The span as OTLP/JSON text: a template filled in, ~5 us a span (a dict per field and
    attribute, then orjson: ~12)."""
    context, parent, status = span.context, span.parent, span.status
    ids = ""
    if parent is not None:
        ids = '"parentSpanId":"%016x",' % parent.span_id  # noqa: UP031 (the template's own style)
    if context.trace_state:
        ids += '"traceState":%s,' % orjson.dumps(context.trace_state.to_header()).decode()  # noqa: UP031
    code = status.status_code.value
    encoded_status = (
        _UNSET
        if code == 0 and not status.description
        else orjson.dumps({"code": code, "message": status.description or ""}).decode()
    )
    events = ""
    if span.events:
        encoded = [
            {"timeUnixNano": str(event.timestamp), "name": event.name, "attributes": key_values(event.attributes)}
            for event in span.events
        ]
        events = ',"events":' + orjson.dumps(encoded).decode()
    return _SPAN % (
        context.trace_id,
        context.span_id,
        ids,
        orjson.dumps(span.name).decode(),
        span.kind.value + 1,  # OTLP counts from SPAN_KIND_UNSPECIFIED = 0
        span.start_time,
        span.end_time,
        ",".join([_attribute(key, value) for key, value in (span.attributes or {}).items()]),
        encoded_status,
        events,
    )


def resource_json(attributes: Mapping[str, Any]) -> str:
    return '{"attributes":%s}' % orjson.dumps(key_values(attributes)).decode()  # noqa: UP031


def scope_json(name: str, version: str = "") -> str:
    return orjson.dumps({"name": name, "version": version}).decode()


def request_json(groups: Iterable[tuple[str, str, Sequence[str]]]) -> bytes:
    """An ExportTraceServiceRequest of (resource, scope, spans) groups, each already JSON text."""
    parts = [
        '{"resource":%s,"scopeSpans":[{"scope":%s,"spans":[%s]}]}' % (resource, scope, ",".join(spans))  # noqa: UP031
        for resource, scope, spans in groups
    ]
    return ('{"resourceSpans":[%s]}' % ",".join(parts)).encode()  # noqa: UP031


def sdk_request_json(spans: Sequence[ReadableSpan]) -> bytes:
    """The SDK's spans, grouped by resource and instrumentation scope."""
    groups: dict[tuple[int, str, str], tuple[Any, Any, list[str]]] = {}
    for span in spans:
        scope = span.instrumentation_scope
        name, version = (scope.name, scope.version or "") if scope is not None else ("", "")
        _, _, encoded = groups.setdefault((id(span.resource), name, version), (span.resource, (name, version), []))
        encoded.append(span_json(span))
    return request_json(
        (resource_json(resource.attributes), scope_json(*scope), encoded)
        for resource, scope, encoded in groups.values()
    )


class OtlpJsonExporter(SpanExporter):
    def __init__(self, endpoint: str):
        self.endpoint = f"{endpoint.rstrip('/')}/v1/traces"
        headers = {**parse_env_headers(_setting("HEADERS"), liberal=True), "Content-Type": "application/json"}
        self._client = httpx.Client(
            headers=headers,
            timeout=float(_setting("TIMEOUT", "10")),
            verify=_setting("CERTIFICATE") or True,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.send(sdk_request_json(spans), len(spans))

    def send(self, body: bytes, count: int) -> SpanExportResult:
        """POST an encoded request of `count` spans; a failure is logged, never raised."""
        try:
            answer = self._client.post(self.endpoint, content=body)
        except httpx.HTTPError as exc:
            _log.warning("%d spans not exported to %s: %s", count, self.endpoint, type(exc).__name__)
            return SpanExportResult.FAILURE
        if answer.status_code >= 300:
            _log.warning("%d spans not exported: %s answered %d", count, self.endpoint, answer.status_code)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._client.close()
