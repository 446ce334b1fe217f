"""W3C trace context: read an incoming `traceparent` header with OpenTelemetry's own propagator."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()


def valid_traceparent(header: str | None) -> str | None:
    """`header` if it is a valid W3C traceparent, else None (the spec says to ignore an invalid one)."""
    if not header:
        return None
    context = _PROPAGATOR.extract({"traceparent": header})
    return header if trace.get_current_span(context).get_span_context().is_valid else None


def context_from_traceparent(header: str | None) -> Context | None:
    """The parent context a `traceparent` names (None: a new trace)."""
    return _PROPAGATOR.extract({"traceparent": header}) if header else None


def traceparent(span: trace.Span) -> str:
    """`span` as a W3C traceparent, to hand to a callee that makes its own child spans."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier["traceparent"]


def traceparent_of(trace_id: str, span_id: str) -> str:
    """The traceparent of a sampled span known only by its hex ids (read back from the store)."""
    return f"00-{trace_id}-{span_id}-01"
