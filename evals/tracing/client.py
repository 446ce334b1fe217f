"""The CLIENT span of one call to an OpenAI-compatible endpoint: started before the call so that its
context travels in the `traceparent` header (a goldgate server continues the trace), finished with
the answer's usage and timings. It takes plain values, so it knows nothing of the backends that call it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telemetry import GenerationRecord, SpanIds, Telemetry, record_generation
from telemetry.genai import record_error, start_generation_span
from telemetry.trace_context import traceparent

PROVIDER = "openai"  # the API spoken; the conventions name the provider by its API when it is OpenAI's


@dataclass(frozen=True)
class ClientRequest:
    """What was asked of the endpoint, as the span records it."""

    model: str
    messages: tuple[dict[str, Any], ...]
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int | None
    stop: tuple[str, ...]
    parent_traceparent: str | None = None
    attributes: tuple[tuple[str, Any], ...] = ()  # the run and example ids


@dataclass(frozen=True)
class ClientAnswer:
    url: str  # the replica that answered (or failed last)
    output: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_s: float | None
    error: str | None
    cached_tokens: int | None = None


class ClientTracing:
    def __init__(self, tel: Telemetry, request: ClientRequest) -> None:
        self.tel, self.request = tel, request
        self.start_ns = time.time_ns()
        self.span = start_generation_span(tel, "chat", request.model, kind="client",
                                          parent_traceparent=request.parent_traceparent)
        self.traceparent = traceparent(self.span)

    def finish(self, a: ClientAnswer) -> SpanIds:
        r, where = self.request, urlsplit(a.url)
        record = GenerationRecord(
            operation="chat", provider=PROVIDER, request_model=r.model, kind="client",
            start_ns=self.start_ns, end_ns=time.time_ns(), max_tokens=r.max_tokens, temperature=r.temperature,
            top_p=r.top_p, top_k=r.top_k or None, seed=r.seed, stop=r.stop, stream=True,
            finish_reason=a.finish_reason, input_tokens=a.prompt_tokens, output_tokens=a.completion_tokens,
            cached_tokens=a.cached_tokens,
            first_token_ns=self.start_ns + int(a.ttft_s * 1e9) if a.ttft_s is not None else None,
            error_type=a.error.split(":", 1)[0] if a.error else None, server_address=where.hostname,
            server_port=where.port or (443 if where.scheme == "https" else 80), messages=r.messages,
            output=a.output, extra=dict(r.attributes))
        ids = record_generation(self.tel, record, self.span)
        if a.finish_reason == "content_filter":  # the provider's guardrail refused the answer
            record_error(self.tel, "guardrail", "content_filter", r.model)
        return ids
