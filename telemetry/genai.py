"""One span per generation, written when the generation ends: named `{operation} {model}`, with the
GenAI conventions' attributes, goldgate's engine timings under `goldgate.*`, and the request metrics.
Never a span per token: token timing lives in the histograms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from telemetry.messages import INFERENCE_DETAILS_EVENT, content_attributes
from telemetry.prices import COST, CURRENCY
from telemetry.setup import Telemetry
from telemetry.sinks import KV_CACHE_USAGE, REQUESTS_WAITING, TTFT
from telemetry.trace_context import context_from_traceparent

Kind = Literal["internal", "client"]
_KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}



@dataclass(frozen=True)
class SpanIds:
    trace_id: str
    span_id: str


@dataclass(frozen=True)
class GenerationRecord:
    """A finished generation, as plain data: what telemetry needs from the engine or a client call.
    Times are wall-clock nanoseconds (`time.time_ns()`)."""

    operation: str  # chat | text_completion
    provider: str
    request_model: str
    start_ns: int
    end_ns: int
    kind: Kind = "internal"  # "client" where the caller calls a remote endpoint
    response_model: str | None = None
    response_id: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: Sequence[str] = ()
    stream: bool = False
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None  # input tokens a provider served from its prompt cache
    engine_s: float | None = None  # this generation's share of engine step time (what an hourly price bills)
    first_token_ns: int | None = None
    queue_s: float | None = None  # the engine's timings, which the conventions lack
    prefill_s: float | None = None
    decode_s: float | None = None
    requests_waiting: int | None = None  # the engine's state as the request finished
    kv_cache_usage: float | None = None
    error_type: str | None = None
    server_address: str | None = None
    server_port: int | None = None
    parent_traceparent: str | None = None
    messages: Sequence[Mapping[str, Any]] | None = None  # content, used only when capture is on
    prompt: str | None = None
    output: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # the caller's own `goldgate.*` attributes


def wall_ns(perf_s: float, *, now_perf: float, now_ns: int) -> int:
    """A `time.perf_counter()` reading as wall-clock nanoseconds, given one reading of both clocks."""
    return now_ns - int((now_perf - perf_s) * 1e9)


def generation_attributes(r: GenerationRecord) -> dict[str, Any]:
    a: dict[str, Any] = {
        g.GEN_AI_OPERATION_NAME: r.operation, g.GEN_AI_PROVIDER_NAME: r.provider, g.GEN_AI_REQUEST_MODEL: r.request_model,
        g.GEN_AI_REQUEST_MAX_TOKENS: r.max_tokens, g.GEN_AI_REQUEST_TEMPERATURE: r.temperature,
        g.GEN_AI_REQUEST_TOP_P: r.top_p, g.GEN_AI_REQUEST_TOP_K: r.top_k, g.GEN_AI_REQUEST_SEED: r.seed,
        g.GEN_AI_REQUEST_STREAM: r.stream, g.GEN_AI_RESPONSE_ID: r.response_id,
        g.GEN_AI_RESPONSE_MODEL: r.response_model, g.GEN_AI_USAGE_INPUT_TOKENS: r.input_tokens,
        g.GEN_AI_USAGE_OUTPUT_TOKENS: r.output_tokens, g.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: r.cached_tokens,
        error_attributes.ERROR_TYPE: r.error_type,
        server_attributes.SERVER_ADDRESS: r.server_address, server_attributes.SERVER_PORT: r.server_port,
        "goldgate.queue_time_s": r.queue_s, "goldgate.prefill_time_s": r.prefill_s,
        "goldgate.decode_time_s": r.decode_s, REQUESTS_WAITING: r.requests_waiting, KV_CACHE_USAGE: r.kv_cache_usage,
        **r.extra,
    }
    if r.stop:
        a[g.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(r.stop)
    if r.finish_reason:
        a[g.GEN_AI_RESPONSE_FINISH_REASONS] = (r.finish_reason,)
    if r.first_token_ns is not None:
        a[TTFT] = (r.first_token_ns - r.start_ns) / 1e9
        if r.stream:
            a[g.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = a[TTFT]
    if r.decode_s and r.output_tokens and r.output_tokens > 1:
        a["goldgate.decode_tokens_per_s"] = (r.output_tokens - 1) / r.decode_s
    return {k: v for k, v in a.items() if v is not None}


def start_generation_span(tel: Telemetry, operation: str, model: str, *, kind: Kind,
                          parent_traceparent: str | None = None, start_ns: int | None = None) -> Span:
    """A generation's span, started at `start_ns` (default now: a client that must send its context before
    the answer exists starts it then)."""
    return tel.tracer.start_span(f"{operation} {model}", context=context_from_traceparent(parent_traceparent),
                                 kind=_KINDS[kind], start_time=start_ns)


def record_generation(tel: Telemetry, r: GenerationRecord, span: Span | None = None) -> SpanIds:
    """Write the span of a finished generation (or finish `span`, started earlier) and record its metrics;
    return the span's ids for the caller to store beside the answer."""
    if span is None:
        span = start_generation_span(tel, r.operation, r.request_model, kind=r.kind,
                                     parent_traceparent=r.parent_traceparent, start_ns=r.start_ns)
    attributes = generation_attributes(r)
    cost = generation_cost(tel, r)
    if cost is not None:
        attributes |= {COST: cost, CURRENCY: tel.prices.currency}
    span.set_attributes(attributes)
    if tel.capture.on_span or tel.capture.as_event:
        content = content_attributes(r.messages, r.prompt, r.output, r.finish_reason, tel.redactor)
        if tel.capture.on_span:
            span.set_attributes(content)
        if tel.capture.as_event:
            span.add_event(INFERENCE_DETAILS_EVENT, content, timestamp=r.end_ns)
    if r.error_type:
        span.set_status(Status(StatusCode.ERROR, r.error_type))
    span.end(end_time=r.end_ns)
    _record_metrics(tel, r, cost)
    return span_ids(span)


def generation_cost(tel: Telemetry, r: GenerationRecord) -> float | None:
    """What `r` cost by the telemetry's price table (None without one, or for a failed call that used
    no tokens)."""
    if tel.prices is None or (r.input_tokens is None and r.engine_s is None):
        return None
    return tel.prices.price(r.request_model).cost(r.input_tokens or 0, r.output_tokens or 0,
                                                  cached_tokens=r.cached_tokens or 0, engine_s=r.engine_s)


def span_ids(span: Span) -> SpanIds:
    ids = span.get_span_context()
    return SpanIds(trace.format_trace_id(ids.trace_id), trace.format_span_id(ids.span_id))


def record_error(tel: Telemetry, error_class: str, error_type: str, model: str) -> None:
    """Count one error of a class (api, validation or guardrail): each class is its own counter."""
    tel.instruments.errors[error_class].add(1, {error_attributes.ERROR_TYPE: error_type,
                                                g.GEN_AI_REQUEST_MODEL: model})


def _record_metrics(tel: Telemetry, r: GenerationRecord, cost: float | None) -> None:
    i = tel.instruments
    labels = {g.GEN_AI_OPERATION_NAME: r.operation, g.GEN_AI_PROVIDER_NAME: r.provider,
              g.GEN_AI_REQUEST_MODEL: r.request_model, **tel.labels.of(r.extra)}
    if cost is not None:
        i.cost.add(cost, labels | {CURRENCY: tel.prices.currency})
    if r.error_type:
        labels[error_attributes.ERROR_TYPE] = r.error_type
    duration = (r.end_ns - r.start_ns) / 1e9
    for token_type, count in (("input", r.input_tokens), ("output", r.output_tokens)):
        if count is not None:
            i.token_usage.record(count, labels | {g.GEN_AI_TOKEN_TYPE: token_type})
    if r.kind == "client":
        i.operation_duration.record(duration, labels)
        return
    i.request_duration.record(duration, labels | {"goldgate.finish_reason": r.finish_reason or "error"})
    if r.first_token_ns is not None:
        i.time_to_first_token.record((r.first_token_ns - r.start_ns) / 1e9, labels)
        if r.decode_s and r.output_tokens and r.output_tokens > 1:
            i.time_per_output_token.record(r.decode_s / (r.output_tokens - 1), labels)
