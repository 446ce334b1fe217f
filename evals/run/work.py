"""The unit of work a backend answers and what comes back. Backends take the whole list of work and
yield completions in groups as they finish; the runner stores each group in one transaction. A failure
of one example becomes an error row for that example (retried on resume), never the end of the run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterator, Protocol, Sequence

from engine import SamplingParams
from evals.golden.dataset import Example
from evals.run.suite import SamplingConfig
from evals.scorers.choice_loglik import Continuation, Loglik


@dataclass(frozen=True)
class WorkItem:
    example: Example
    epoch: int
    messages: tuple[dict[str, str], ...]
    seed: int | None  # the suite's seed plus the epoch, so epochs of a sampled run differ
    cache_key: str | None  # None when the answer is not deterministic and must not be reused
    prefix: str = ""  # the start of the reply, written for the model (a judge's `{"rationale": "`)
    json_schema: str | None = None  # JSON text of a schema the reply must match (a judge's); `prefix` is the
    # fallback for an endpoint without structured outputs
    continuations: tuple[Continuation, ...] = ()  # whose log-likelihoods to score as well (the choices)
    tools: tuple[dict[str, Any], ...] = ()  # functions the reply may call (OpenAI's shape); its calls come back
    tool_choice: str = "auto"  # as `<tool_call>` blocks in the output (engine.tool_calls)
    traceparent: str | None = None  # the span the generation's span hangs under (an eval example's)
    span_attributes: tuple[tuple[str, Any], ...] = ()  # for the generation span (the run and example ids)

    def reply_start(self, structured_outputs: bool) -> str:
        """What the reply starts with, written for the model: nothing where the schema is enforced."""
        return "" if structured_outputs and self.json_schema else self.prefix

    def placed(self, traceparent: str, span_attributes: tuple[tuple[str, Any], ...]) -> "WorkItem":
        """This item, its generation's span to hang under `traceparent` with `span_attributes`."""
        return replace(self, traceparent=traceparent, span_attributes=span_attributes)


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
    cached_tokens: int | None = None  # input tokens the provider served from its prompt cache
    engine_s: float | None = None  # the engine's step time spent on it (what an hourly price bills)
    trace_id: str | None = None  # the generation span's, when telemetry is on
    span_id: str | None = None
    logliks: tuple[Loglik, ...] | None = None  # of the item's continuations, in order


class Backend(Protocol):
    model_id: str
    model_digest: str | None
    endpoint: str | None

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]: ...


def model_identity(backend: Backend) -> str:
    """What a cached answer is keyed by: the weights digest, or else the endpoint and its model name."""
    return backend.model_digest or f"{backend.endpoint}#{backend.model_id}"


def sampling_params(sampling: SamplingConfig, seed: int | None, json_schema: str | None = None) -> SamplingParams:
    return SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k,
                          seed=seed, max_tokens=sampling.max_tokens, stop=sampling.stop, json_schema=json_schema)
