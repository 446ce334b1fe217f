"""The CLIENT span of one call to an OpenAI-compatible endpoint: started before the call so that its
context travels in the `traceparent` header (a goldgate server continues the trace), finished with
the answer's usage and timings."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telemetry import GenerationRecord, Telemetry, record_generation
from telemetry.genai import record_error, start_generation_span
from telemetry.trace_context import traceparent

if TYPE_CHECKING:
    from evals.backends import Completion, WorkItem
    from evals.suite import SamplingConfig

PROVIDER = "openai"  # the API spoken; the conventions name the provider by its API when it is OpenAI's


class ClientTracing:
    def __init__(self, tel: Telemetry, model: str, url: str, sampling: SamplingConfig, item: WorkItem) -> None:
        self.tel, self.model, self.url, self.sampling, self.item = tel, model, url, sampling, item
        self.start_ns = time.time_ns()
        self.span = start_generation_span(tel, "chat", model, kind="client", parent_traceparent=item.traceparent)
        self.traceparent = traceparent(self.span)

    def finish(self, c: Completion) -> Completion:
        s, where = self.sampling, urlsplit(self.url)
        record = GenerationRecord(
            operation="chat", provider=PROVIDER, request_model=self.model, kind="client",
            start_ns=self.start_ns, end_ns=time.time_ns(), max_tokens=s.max_tokens, temperature=s.temperature,
            top_p=s.top_p, top_k=s.top_k or None, seed=self.item.seed, stop=s.stop, stream=True,
            finish_reason=c.finish_reason, input_tokens=c.prompt_tokens, output_tokens=c.completion_tokens,
            first_token_ns=self.start_ns + int(c.ttft_s * 1e9) if c.ttft_s is not None else None,
            error_type=c.error.split(":", 1)[0] if c.error else None, server_address=where.hostname,
            server_port=where.port or (443 if where.scheme == "https" else 80), messages=self.item.messages,
            output=c.output, extra=dict(self.item.span_attributes))
        ids = record_generation(self.tel, record, self.span)
        if c.finish_reason == "content_filter":  # the provider's guardrail refused the answer
            record_error(self.tel, "guardrail", "content_filter", self.model)
        return replace(c, trace_id=ids.trace_id, span_id=ids.span_id)
