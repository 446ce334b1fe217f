"""Answers from any OpenAI-compatible endpoint, through the official SDK, each call a CLIENT span."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Iterator, Sequence

from evals.run.suite import EndpointConfig, SamplingConfig
from evals.run.work import Completion, WorkItem
from evals.tracing.client import ClientAnswer, ClientRequest, ClientTracing
from telemetry import Telemetry


class EndpointBackend:
    """Streaming chat completions with at most `concurrency` in flight; the SDK retries transient errors
    (connection failures, 408, 429, 5xx) with exponential backoff, and each example has a total deadline."""

    model_digest = None

    def __init__(self, config: EndpointConfig, sampling: SamplingConfig, concurrency: int, timeout_s: float,
                 telemetry: Telemetry | None = None, *, api_key: str = "") -> None:
        import openai

        self.sampling, self.concurrency, self.timeout_s, self.telemetry = sampling, concurrency, timeout_s, telemetry
        self.model_id, self.endpoint = config.model, config.url
        self.client = openai.OpenAI(base_url=config.url, api_key=api_key or "unused", max_retries=config.max_retries,
                                    timeout=timeout_s)
        self._errors = (openai.OpenAIError, TimeoutError)

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            pending: set[Future[Completion]] = {pool.submit(self._one, item) for item in items}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield [f.result() for f in done]

    def _one(self, item: WorkItem) -> Completion:
        if self.telemetry is None:
            return self._call(item, None)
        s = self.sampling
        tracing = ClientTracing(self.telemetry, ClientRequest(
            self.model_id, self.endpoint, item.messages, s.max_tokens, s.temperature, s.top_p, s.top_k, item.seed,
            s.stop, item.traceparent, item.span_attributes))
        c = self._call(item, tracing.traceparent)
        ids = tracing.finish(ClientAnswer(c.output, c.finish_reason, c.prompt_tokens, c.completion_tokens, c.ttft_s,
                                          c.error))
        return replace(c, trace_id=ids.trace_id, span_id=ids.span_id)

    def _call(self, item: WorkItem, traceparent: str | None) -> Completion:
        s = self.sampling
        start = time.perf_counter()
        messages, extra = list(item.messages), {"top_k": s.top_k} if s.top_k else {}
        if item.prefix:  # continue a started reply, as vLLM's servers and goldgate's own accept it
            messages.append({"role": "assistant", "content": item.prefix})
            extra |= {"continue_final_message": True, "add_generation_prompt": False}
        try:
            stream = self.client.chat.completions.create(
                model=self.model_id, messages=messages, temperature=s.temperature, top_p=s.top_p,
                max_tokens=s.max_tokens, seed=item.seed, stop=list(s.stop) or None, stream=True,
                stream_options={"include_usage": True}, extra_body=extra or None,
                extra_headers={"traceparent": traceparent} if traceparent else None)
            parts, first, finish, usage = [item.prefix], None, None, None
            with stream:
                for chunk in stream:
                    if time.perf_counter() - start > self.timeout_s:
                        raise TimeoutError(f"no complete answer within {self.timeout_s:g} s")
                    usage = chunk.usage or usage
                    for choice in chunk.choices:
                        if choice.delta.content:
                            first = first or time.perf_counter()
                            parts.append(choice.delta.content)
                        finish = choice.finish_reason or finish
        except self._errors as e:
            return Completion(item, error=f"{type(e).__name__}: {e}")
        end = time.perf_counter()
        return Completion(item, output="".join(parts), finish_reason=finish or "stop",
                          prompt_tokens=usage.prompt_tokens if usage else None,
                          completion_tokens=usage.completion_tokens if usage else None,
                          latency_s=end - start, ttft_s=(first or end) - start)
