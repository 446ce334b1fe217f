"""Answers from the in-process engine: the whole set goes to it at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

from engine import GenerationRequest, InvalidRequestError
from evals.run.suite import SamplingConfig
from evals.run.work import Completion, WorkItem, sampling_params

if TYPE_CHECKING:
    from engine.engine import Engine


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
        started = {"role": "assistant", "content": item.prefix}  # the reply continues after the prefix
        return GenerationRequest(messages=(*item.messages, started), add_generation_prompt=False,
                                 continue_final_message=True, params=params, **trace)

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
                                    engine_s=t.engine_s,
                                    trace_id=r.trace_id, span_id=r.span_id))
            if len(group) >= self.group_size:
                yield group
                group = []
        if group:
            yield group
