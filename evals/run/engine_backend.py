"""Answers from the in-process engine: the whole set goes to it at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

from engine import GenerationRequest, InvalidRequestError
from engine.text_stream import text_offsets
from engine.tool_calls import ToolUse, block, use_tools
from evals.run.loglik import loglik, scoring_request
from evals.run.suite import SamplingConfig
from evals.run.work import Completion, WorkItem, sampling_params
from evals.scorers.choice_loglik import Loglik

if TYPE_CHECKING:
    from engine.engine import Engine


def _output(item: WorkItem, use: ToolUse, text: str) -> str:
    """The answer as stored: a forced call written as its `<tool_call>` block, as any other call is."""
    if use.json_schema is not None and (calls := use.calls(text)[1]):
        return block(calls[0])
    return item.reply_start(structured_outputs=True) + text


class EngineBackend:
    """The whole set goes to the engine at once; continuous batching keeps `batch_size` rows busy,
    and completions come back in groups of up to `group_size` as they finish."""

    endpoint = None

    def __init__(self, engine: Engine, sampling: SamplingConfig, group_size: int = 8) -> None:
        self.engine, self.sampling, self.group_size = engine, sampling, group_size
        self.model_id, self.model_digest = engine.model_id, engine.loaded.weights_sha256

    def _request(self, item: WorkItem, use: ToolUse) -> GenerationRequest:
        """The item as the engine takes it; its tools written into the conversation (a forced call decoded
        under the call's schema), as `goldgate serve` writes a request's."""
        params = sampling_params(self.sampling, item.seed, use.json_schema or item.json_schema)
        trace = {"traceparent": item.traceparent, "span_attributes": dict(item.span_attributes)}
        if not (start := item.reply_start(structured_outputs=True)):
            return GenerationRequest(messages=use.messages, params=params, **trace)
        started = {"role": "assistant", "content": start}  # the reply continues after the prefix
        return GenerationRequest(messages=(*use.messages, started), add_generation_prompt=False,
                                 continue_final_message=True, params=params, **trace)

    def logliks(self, items: Sequence[WorkItem]) -> dict[int, tuple[Loglik, ...]]:
        """Each item's continuations scored, keyed by id(item): every continuation of every item goes to the
        engine at once, so an example's choices share its forwards. An item with a continuation the engine
        refuses (longer than the context window) has none."""
        asked = [(item, c) for item in items if self._all_valid(item) for c in item.continuations]
        results = self.engine.generate([scoring_request(c) for _, c in asked])
        out: dict[int, list[Loglik]] = {}
        for (item, c), r in zip(asked, results):
            offsets = text_offsets([self.engine.tokenizer.decode([t]) for t in r.prompt_token_ids])
            out.setdefault(id(item), []).append(loglik(c, offsets, [None, *(e.logprob for e in r.prompt_logprobs)]))
        return {k: tuple(v) for k, v in out.items()}

    def _all_valid(self, item: WorkItem) -> bool:
        try:
            for c in item.continuations:
                self.engine.validate(scoring_request(c))
        except InvalidRequestError:
            return False
        return True

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]:
        scored = self.logliks(items)
        requests, runnable, uses, refused = [], [], [], []
        for item in items:
            use = use_tools(item.messages, item.tools, item.tool_choice)
            request = self._request(item, use)
            try:
                self.engine.validate(request)
            except InvalidRequestError as e:  # e.g. a prompt longer than the context window
                refused.append(Completion(item, error=str(e)))
                continue
            requests.append(request)
            runnable.append(item)
            uses.append(use)
        if refused:
            yield refused
        group: list[Completion] = []
        for i, r in self.engine.as_completed(requests):
            t = r.timings  # latency counts from the request's prefill, not from when the whole set was queued
            output = _output(runnable[i], uses[i], r.text)
            group.append(Completion(runnable[i], output=output, finish_reason=r.finish_reason,
                                    prompt_tokens=r.usage.prompt_tokens, completion_tokens=r.usage.completion_tokens,
                                    latency_s=t.total_s - t.queue_s, ttft_s=t.time_to_first_token_s - t.queue_s,
                                    engine_s=t.engine_s, trace_id=r.trace_id, span_id=r.span_id,
                                    logliks=scored.get(id(runnable[i]))))
            if len(group) >= self.group_size:
                yield group
                group = []
        if group:
            yield group
