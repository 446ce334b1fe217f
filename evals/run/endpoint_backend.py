"""Answers from any OpenAI-compatible endpoint, or several replicas of one model, through the official
SDK, each call a CLIENT span."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Iterator, Sequence

from evals.run.replicas import Replica, ReplicaPool
from evals.run.suite import EndpointConfig, SamplingConfig
from evals.run.work import Completion, WorkItem
from evals.tracing.client import ClientAnswer, ClientRequest, ClientTracing
from telemetry import Telemetry


BACKOFF_S, BACKOFF_CAP_S = 0.25, 4.0  # before a retry on a replica this request already failed on
HEALTH_TIMEOUT_S = 2.0


class EndpointBackend:
    """Streaming chat completions with at most `concurrency` in flight over the replicas. A transient failure
    (a refused or dropped connection, 408, 429, 5xx, the deadline on the whole answer) is retried up to
    `max_retries` times on another replica where there is one, with exponential backoff where there is not;
    any other refusal (400, 401) is the request's own and becomes its error row at once."""

    model_digest = None

    def __init__(self, config: EndpointConfig, sampling: SamplingConfig, concurrency: int, timeout_s: float,
                 telemetry: Telemetry | None = None, *, api_key: str = "") -> None:
        import httpx
        import openai

        self.sampling, self.concurrency, self.timeout_s, self.telemetry = sampling, concurrency, timeout_s, telemetry
        self.model_id, self.endpoint, self.max_retries = config.model, ",".join(config.url), config.max_retries
        self.replicas = ReplicaPool(
            [Replica(url, openai.OpenAI(base_url=url, api_key=api_key or "unused", max_retries=0, timeout=timeout_s))
             for url in config.url], self._healthy, config.fail_after_s)
        self._openai, self._failures = openai, (openai.OpenAIError, httpx.TransportError, TimeoutError,
                                                ConnectionError)

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]:
        with self.replicas, ThreadPoolExecutor(self.concurrency) as pool:
            pending: set[Future[Completion]] = {pool.submit(self._one, item) for item in items}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield [f.result() for f in done]
            finally:  # stopped (every replica down, Ctrl-C): what has not started never starts
                pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, item: WorkItem) -> Completion:
        if self.telemetry is None:
            return self._call(item, None)[0]
        s = self.sampling
        tracing = ClientTracing(self.telemetry, ClientRequest(
            self.model_id, item.messages, s.max_tokens, s.temperature, s.top_p, s.top_k, item.seed,
            s.stop, item.traceparent, item.span_attributes))
        c, url = self._call(item, tracing.traceparent)
        ids = tracing.finish(ClientAnswer(url, c.output, c.finish_reason, c.prompt_tokens, c.completion_tokens,
                                          c.ttft_s, c.error))
        return replace(c, trace_id=ids.trace_id, span_id=ids.span_id)

    def _call(self, item: WorkItem, traceparent: str | None) -> tuple[Completion, str]:
        """The answer and the url of the replica that gave it (or failed last)."""
        tried: list[Replica] = []
        for attempt in range(self.max_retries + 1):
            replica = self.replicas.acquire(tried)
            if replica in tried:
                time.sleep(min(BACKOFF_CAP_S, BACKOFF_S * 2 ** (attempt - 1)))  # attempt >= 1 here
            try:
                completion = self._ask(replica, item, traceparent)
            except self._failures as e:
                error = f"{type(e).__name__}: {e}"
                if self._transient(e):
                    self.replicas.release(replica, error)
                    tried.append(replica)
                    continue
                completion = Completion(item, error=error)
            self.replicas.release(replica)
            return completion, replica.url
        return Completion(item, error=error), replica.url

    def _transient(self, e: Exception) -> bool:
        """A failure of the replica rather than of the request (the statuses the SDK itself would retry)."""
        if isinstance(e, self._openai.APIStatusError):
            return e.status_code in (408, 409, 429) or e.status_code >= 500
        return not isinstance(e, self._openai.OpenAIError) or isinstance(e, self._openai.APIConnectionError)

    def _healthy(self, replica: Replica) -> bool:
        """It answers `GET /models`; a refusal below 500 (a server without that route) is an answer too."""
        try:
            replica.client.with_options(timeout=HEALTH_TIMEOUT_S).models.list()
        except self._failures as e:
            return not self._transient(e)
        return True

    def _ask(self, replica: Replica, item: WorkItem, traceparent: str | None) -> Completion:
        s = self.sampling
        start = time.perf_counter()
        messages, extra = list(item.messages), {"top_k": s.top_k} if s.top_k else {}
        if item.prefix:  # continue a started reply, as vLLM's servers and goldgate's own accept it
            messages.append({"role": "assistant", "content": item.prefix})
            extra |= {"continue_final_message": True, "add_generation_prompt": False}
        stream = replica.client.chat.completions.create(
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
        if finish is None:  # the connection closed mid-answer, where a body's end is the connection's
            raise ConnectionError("the stream ended before the answer did (no finish reason)")
        end = time.perf_counter()
        return Completion(item, output="".join(parts), finish_reason=finish,
                          prompt_tokens=usage.prompt_tokens if usage else None,
                          completion_tokens=usage.completion_tokens if usage else None,
                          latency_s=end - start, ttft_s=(first or end) - start)
