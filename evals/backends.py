"""Where answers come from: the in-process engine, or any OpenAI-compatible endpoint.

Both take the whole list of work and yield completions in groups as they finish; the runner
stores each group in one transaction. A failure of one example becomes an error row for that
example (retried on resume), never the end of the run.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence

from engine import Engine, GenerationRequest, InvalidRequestError, SamplingParams
from evals.client_tracing import ClientTracing
from evals.dataset import Example
from evals.suite import EndpointConfig, SamplingConfig
from telemetry import Telemetry


@dataclass(frozen=True)
class WorkItem:
    example: Example
    epoch: int
    messages: tuple[dict[str, str], ...]
    seed: int | None  # the suite's seed plus the epoch, so epochs of a sampled run differ
    cache_key: str | None  # None when the answer is not deterministic and must not be reused
    prefix: str = ""  # the start of the reply, written for the model (a judge's `{"rationale": "`)
    traceparent: str | None = None  # the span the generation's span hangs under (an eval example's)
    span_attributes: tuple[tuple[str, Any], ...] = ()  # for the generation span (the run and example ids)


@dataclass(frozen=True)
class Completion:
    item: WorkItem
    output: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    cached: bool = False
    error: str | None = None
    trace_id: str | None = None  # the generation span's, when telemetry is on
    span_id: str | None = None


class Backend(Protocol):
    model_id: str
    model_digest: str | None
    endpoint: str | None

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]: ...


def model_identity(backend: Backend) -> str:
    """What a cached answer is keyed by: the weights digest, or else the endpoint and its model name."""
    return backend.model_digest or f"{backend.endpoint}#{backend.model_id}"


def sampling_params(sampling: SamplingConfig, seed: int | None) -> SamplingParams:
    return SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k,
                          seed=seed, max_tokens=sampling.max_tokens, stop=sampling.stop)


class EngineBackend:
    """The whole set goes to the engine at once; continuous batching keeps `batch_size` rows busy,
    and completions come back in groups of up to `group_size` as they finish."""

    endpoint = None

    def __init__(self, engine: Engine, sampling: SamplingConfig, group_size: int = 8) -> None:
        self.engine, self.sampling, self.group_size = engine, sampling, group_size
        self.model_id, self.model_digest = engine.model_id, engine.loaded.weights_sha256

    def _request(self, item: WorkItem) -> GenerationRequest:
        params = sampling_params(self.sampling, item.seed)
        trace = {"traceparent": item.traceparent, "span_attributes": dict(item.span_attributes)}
        if not item.prefix:
            return GenerationRequest(messages=item.messages, params=params, **trace)
        template = self.engine.tokenizer.chat_template  # the reply continues after the prefix
        return GenerationRequest(prompt=template.render(item.messages) + item.prefix, params=params, **trace)

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]:
        requests, runnable, refused = [], [], []
        for item in items:
            request = self._request(item)
            try:
                self.engine.validate(request)
            except InvalidRequestError as e:  # e.g. a prompt longer than the context window
                refused.append(Completion(item, error=str(e)))
                continue
            requests.append(request)
            runnable.append(item)
        if refused:
            yield refused
        group: list[Completion] = []
        for i, r in self.engine.as_completed(requests):
            t = r.timings  # latency counts from the request's prefill, not from when the whole set was queued
            group.append(Completion(runnable[i], output=runnable[i].prefix + r.text, finish_reason=r.finish_reason,
                                    prompt_tokens=r.usage.prompt_tokens, completion_tokens=r.usage.completion_tokens,
                                    latency_s=t.total_s - t.queue_s, ttft_s=t.time_to_first_token_s - t.queue_s,
                                    trace_id=r.trace_id, span_id=r.span_id))
            if len(group) >= self.group_size:
                yield group
                group = []
        if group:
            yield group


class EndpointBackend:
    """Streaming chat completions with at most `concurrency` in flight; the SDK retries transient errors
    (connection failures, 408, 429, 5xx) with exponential backoff, and each example has a total deadline."""

    model_digest = None

    def __init__(self, config: EndpointConfig, sampling: SamplingConfig, concurrency: int, timeout_s: float,
                 telemetry: Telemetry | None = None) -> None:
        import openai

        self.sampling, self.concurrency, self.timeout_s, self.telemetry = sampling, concurrency, timeout_s, telemetry
        self.model_id, self.endpoint = config.model, config.url
        key = os.environ.get(config.api_key_env, "") if config.api_key_env else ""
        self.client = openai.OpenAI(base_url=config.url, api_key=key or "unused", max_retries=config.max_retries,
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
        tracing = ClientTracing(self.telemetry, self.model_id, self.endpoint, self.sampling, item)
        return tracing.finish(self._call(item, tracing.traceparent))

    def _call(self, item: WorkItem, traceparent: str | None) -> Completion:
        s = self.sampling
        start = time.perf_counter()
        messages, extra = list(item.messages), {"top_k": s.top_k} if s.top_k else {}
        if item.prefix:  # vLLM's way to continue a started reply (goldgate's own server should accept it too)
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
