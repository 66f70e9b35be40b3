"""OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set and free when not: until
`configure` runs, nothing of OpenTelemetry is imported, `span` is a null context and `inject`
adds nothing.

The model server configures it in its app factory, the code location (and so its runs) in its
assembly. The provider is the platform's own, handed to the FastAPI instrumentation, not set as
OpenTelemetry's global (which can be set once per process): `reset` turns tracing off again.
Spans go out over OTLP/HTTP in batches; tests hand in an exporter of their own (the SDK's
in-memory one).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

_tracer: Any = None  # opentelemetry.trace.Tracer once configured
provider: Any = None  # its TracerProvider
_extract = _server_kind = _error_status = None  # what server spans use, once configured
_CONTEXT_HEADERS = (b"traceparent", b"tracestate")


def configure(service_name: str, endpoint: str = "", exporter: Any = None) -> bool:
    """Trace this process as `service_name` to the OTLP endpoint (or `exporter`); False when neither
    is given (tracing stays off). Configured once per process: later calls keep the first."""
    global _tracer, provider
    if _tracer is not None:
        return True
    if not endpoint and exporter is None:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        otlp = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(otlp))
    _tracer = provider.get_tracer("mlops")
    _prepare_server_spans()
    return True


def _prepare_server_spans() -> None:
    """What `server_span` uses, imported once here rather than on each traced request."""
    global _extract, _server_kind, _error_status
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind, Status, StatusCode

    _extract, _server_kind, _error_status = extract, SpanKind.SERVER, Status(StatusCode.ERROR)


def reset() -> None:
    """Tracing off again (spans already ended stay exported)."""
    global _tracer, provider
    if provider is not None:
        provider.shutdown()
    _tracer = provider = None


def enabled() -> bool:
    return _tracer is not None


def span(name: str, **attributes: Any) -> AbstractContextManager:
    """A child span of the current one (a null context when tracing is off)."""
    if _tracer is None:
        return nullcontext()
    return _tracer.start_as_current_span(name, attributes={k: str(v) for k, v in attributes.items() if v is not None})


@contextmanager
def server_span(method: str, route: str, path: str, headers: Iterable[tuple[bytes, bytes]]):
    """The span of one request answered outside the FastAPI instrumentation (the model server's
    direct path), named and parented as the instrumentation would (`POST /variant/{alias}/predict`,
    a child of the caller's `traceparent`). Yields a function to record the answer's status.
    Tracing must be on."""
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers if name in _CONTEXT_HEADERS}
    attributes = {"http.request.method": method, "http.route": route, "url.path": path}
    with _tracer.start_as_current_span(
        f"{method} {route}", context=_extract(carrier), kind=_server_kind, attributes=attributes
    ) as current:

        def answered(status: int) -> None:
            current.set_attribute("http.response.status_code", status)
            if status >= 500:
                current.set_status(_error_status)

        yield answered


def inject(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the current trace context (W3C `traceparent`) added, for an outgoing call."""
    if _tracer is not None:
        from opentelemetry.propagate import inject as otel_inject

        otel_inject(headers)
    return headers


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), for log records; None when off or outside a span."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
