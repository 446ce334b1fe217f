"""W3C trace context: read an incoming `traceparent` header with OpenTelemetry's own propagator."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()


def valid_traceparent(header: str | None) -> str | None:
    """`header` if it is a valid W3C traceparent, else None (the spec says to ignore an invalid one)."""
    if not header:
        return None
    context = _PROPAGATOR.extract({"traceparent": header})
    return header if trace.get_current_span(context).get_span_context().is_valid else None
