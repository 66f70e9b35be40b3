"""OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set and free when not: until
`configure` runs, nothing of OpenTelemetry is imported, `span` is a null context and `inject`
adds nothing.

The model server configures it in its app factory, the code location (and so its runs) in its
assembly. The provider is the platform's own, handed to the FastAPI instrumentation, not set as
OpenTelemetry's global (which can be set once per process): `reset` turns tracing off again.
Spans go out over OTLP/HTTP as JSON in batches (`otlp_json`). The model server's request spans
are its own (`server_spans`): the SDK's cost as much as the request they measure.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

_tracer: Any = None  # opentelemetry.trace.Tracer once configured
provider: Any = None  # its TracerProvider
_exporter: Any = None  # where its spans go
_server_spans: Any = None  # server_spans.ServerSpans, made by the first server span


def configure(service_name: str, endpoint: str = "") -> bool:
    """Trace this process as `service_name` to the OTLP endpoint; False without one (tracing stays
    off). Configured once per process: later calls keep the first."""
    global _tracer, provider, _exporter
    if _tracer is not None:
        return True
    if not endpoint:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from mlops_base.otlp_json import OtlpJsonExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    _exporter = OtlpJsonExporter(endpoint)
    provider.add_span_processor(BatchSpanProcessor(_exporter))
    _tracer = provider.get_tracer("mlops")
    return True


def reset() -> None:
    """Tracing off again (spans already ended are exported first)."""
    global _tracer, provider, _server_spans
    if _server_spans is not None:
        _server_spans.shutdown()
    if provider is not None:
        provider.shutdown()
    _tracer = provider = _server_spans = None


def flush() -> None:
    """Export every span ended so far (tests read what was exported)."""
    if _server_spans is not None:
        _server_spans.flush()
    if provider is not None:
        provider.force_flush()


def enabled() -> bool:
    return _tracer is not None


def span(name: str, **attributes: Any) -> AbstractContextManager:
    """A child span of the current one (a null context when tracing is off)."""
    if _tracer is None:
        return nullcontext()
    return _tracer.start_as_current_span(name, attributes={k: str(v) for k, v in attributes.items() if v is not None})


def server_span(method: str, route: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> AbstractContextManager:
    """The span of one request answered outside the FastAPI instrumentation (the model server's
    direct path), named and parented as the instrumentation would (`POST /variant/{alias}/predict`,
    a child of the caller's `traceparent`). Yields a function to record the answer's status.
    Tracing must be on."""
    global _server_spans
    if _server_spans is None:
        import atexit

        from mlops_base.server_spans import ServerSpans

        _server_spans = ServerSpans(_exporter, provider.resource, "mlops")
        atexit.register(_server_spans.shutdown)  # before the provider's own (registered earlier)
    return _server_spans.span(method, route, path, headers)


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
