"""Answers from any OpenAI-compatible endpoint, or several replicas of one model, each call a CLIENT span."""

from __future__ import annotations

import json
import queue
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Iterator, Sequence

import urllib3

from engine.tool_calls import Call, block

from evals.run.chat_client import ChatClient, EndpointError, EndpointStatusError
from evals.run.loglik import loglik
from evals.run.replicas import Replica, ReplicaPool
from evals.run.suite import EndpointConfig, SamplingConfig
from evals.run.work import Completion, WorkItem
from evals.scorers.choice_loglik import Continuation, Loglik
from evals.tracing.client import ClientAnswer, ClientRequest, ClientTracing
from telemetry import Telemetry


# what can go wrong with a call: a refusal or error event, a connection refused, cut or timed out, the deadline
FAILURES = (EndpointError, urllib3.exceptions.HTTPError, TimeoutError, ConnectionError)
BACKOFF_S, BACKOFF_CAP_S = 0.25, 4.0  # before a retry on a replica this request already failed on
HEALTH_TIMEOUT_S = 2.0


def _as_block(call: dict[str, str]) -> str:
    """A call the endpoint made, written as the `<tool_call>` block the trajectory scorers read (arguments
    that are not JSON stay text, and the block is then no call they count)."""
    try:
        arguments = json.loads(call["arguments"] or "{}")
    except ValueError:
        arguments = call["arguments"]
    return block(Call(call["name"], arguments))


class EndpointBackend:
    """Streaming chat completions with at most `concurrency` in flight over the replicas. A transient failure
    (a refused or dropped connection, 408, 429, 5xx, the deadline on the whole answer) is retried up to
    `max_retries` times on another replica where there is one, with exponential backoff where there is not;
    any other refusal (400, 401) is the request's own and becomes its error row at once."""

    model_digest = None

    def __init__(self, config: EndpointConfig, sampling: SamplingConfig, concurrency: int, timeout_s: float,
                 telemetry: Telemetry | None = None, *, api_key: str = "") -> None:
        self.sampling, self.concurrency, self.timeout_s, self.telemetry = sampling, concurrency, timeout_s, telemetry
        self.model_id, self.endpoint, self.max_retries = config.model, ",".join(config.url), config.max_retries
        self.structured_outputs = config.structured_outputs
        self.replicas = ReplicaPool(
            [Replica(url, ChatClient(url, api_key=api_key or "unused", timeout_s=timeout_s, connections=concurrency))
             for url in config.url], self._healthy, config.fail_after_s)

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]:
        with self.replicas, ThreadPoolExecutor(self.concurrency) as pool:
            finished: queue.SimpleQueue[Future[Completion]] = queue.SimpleQueue()  # in the order they finish
            left = len(items)
            for item in items:
                pool.submit(self._one, item).add_done_callback(finished.put)
            try:
                while left:
                    group = [finished.get()]  # then whatever else has finished meanwhile
                    while not finished.empty():
                        group.append(finished.get())
                    left -= len(group)
                    yield [f.result() for f in group]
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
                                          c.ttft_s, c.error, c.cached_tokens))
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
            except FAILURES as e:
                error = f"{type(e).__name__}: {e}"
                if self._transient(e):
                    self.replicas.release(replica, error)
                    tried.append(replica)
                    continue
                completion = Completion(item, error=error)
            self.replicas.release(replica)
            return completion, replica.url
        return Completion(item, error=error), replica.url

    def _loglik(self, replica: Replica, continuation: Continuation) -> Loglik:
        """A continuation scored through completions with `echo` and `logprobs`, as lm-evaluation-harness asks
        (one token generated, for servers that refuse max_tokens 0; its offset leaves it out)."""
        body = {"model": self.model_id, "prompt": continuation.context + continuation.text, "max_tokens": 1,
                "temperature": 0, "echo": True, "logprobs": 0}
        logprobs = (replica.client.complete(body)["choices"][0].get("logprobs") or {})
        if "text_offset" not in logprobs or "token_logprobs" not in logprobs:
            raise EndpointError("the endpoint's completions gave no echoed logprobs (text_offset, token_logprobs)")
        try:
            return loglik(continuation, logprobs["text_offset"], logprobs["token_logprobs"])
        except ValueError as e:
            raise EndpointError(str(e)) from None

    @staticmethod
    def _transient(e: Exception) -> bool:
        """A failure of the replica rather than of the request (the statuses OpenAI's own SDK retries)."""
        if isinstance(e, EndpointStatusError):
            return e.status in (408, 409, 429) or e.status >= 500
        return not isinstance(e, EndpointError)

    def _healthy(self, replica: Replica) -> bool:
        """It answers `GET /models`; a refusal below 500 (a server without that route) is an answer too."""
        try:
            replica.client.list_models(HEALTH_TIMEOUT_S)
        except FAILURES as e:
            return not self._transient(e)
        return True

    def _ask(self, replica: Replica, item: WorkItem, traceparent: str | None) -> Completion:
        s = self.sampling
        start = time.perf_counter()
        body = {"model": self.model_id, "messages": list(item.messages), "temperature": s.temperature, "top_p": s.top_p,
                "max_tokens": s.max_tokens, "stream": True, "stream_options": {"include_usage": True}}
        body |= {"seed": item.seed} if item.seed is not None else {}
        body |= ({"stop": list(s.stop)} if s.stop else {}) | ({"top_k": s.top_k} if s.top_k else {})
        if item.json_schema and self.structured_outputs:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "reply", "schema": json.loads(item.json_schema), "strict": True}}
        if started := item.reply_start(self.structured_outputs):  # as vLLM's servers and goldgate's own accept it
            body["messages"].append({"role": "assistant", "content": started})
            body |= {"continue_final_message": True, "add_generation_prompt": False}
        if item.tools:
            choice = item.tool_choice
            body |= {"tools": list(item.tools), "tool_choice": choice if choice in ("auto", "required") else
                     {"type": "function", "function": {"name": choice}}}
        parts, first, finish, usage, calls = [started], None, None, None, {}
        for chunk in replica.client.stream(body, {"traceparent": traceparent} if traceparent else None):
            if time.perf_counter() - start > self.timeout_s:
                raise TimeoutError(f"no complete answer within {self.timeout_s:g} s")
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if content := delta.get("content"):
                    first = first or time.perf_counter()
                    parts.append(content)
                for piece in delta.get("tool_calls") or ():  # a call's name, then its arguments in pieces
                    first = first or time.perf_counter()
                    call = calls.setdefault(piece.get("index", 0), {"name": "", "arguments": ""})
                    for key in ("name", "arguments"):
                        call[key] += (piece.get("function") or {}).get(key) or ""
                finish = choice.get("finish_reason") or finish
        if finish is None:  # the connection closed mid-answer, where a body's end is the connection's
            raise ConnectionError("the stream ended before the answer did (no finish reason)")
        logliks = tuple(self._loglik(replica, c) for c in item.continuations) if item.continuations else None
        end = time.perf_counter()
        output = "\n".join(filter(None, ["".join(parts), *(_as_block(calls[i]) for i in sorted(calls))]))
        return Completion(item, output=output, logliks=logliks, finish_reason=finish,
                          prompt_tokens=usage.get("prompt_tokens") if usage else None,
                          completion_tokens=usage.get("completion_tokens") if usage else None,
                          cached_tokens=(usage.get("prompt_tokens_details") or {}).get("cached_tokens") if usage else None,
                          latency_s=end - start, ttft_s=(first or end) - start)
