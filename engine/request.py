"""What a caller hands the engine and what it gets back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from engine.sampling_params import SamplingParams

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class GenerationRequest:
    """A raw `prompt`, or chat `messages` rendered with the model's chat template: with an assistant turn
    opened after them (`add_generation_prompt`), or with the last, assistant message continued in place
    (`continue_final_message`: a reply started for the model, as vLLM's servers accept it)."""

    prompt: str | None = None
    messages: tuple[dict[str, Any], ...] | None = None
    add_generation_prompt: bool = True
    continue_final_message: bool = False
    params: SamplingParams = field(default_factory=SamplingParams)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    traceparent: str | None = None  # the caller's W3C trace context, continued by the telemetry spans
    stream: bool = False  # whether the caller streams the answer (telemetry records it)
    span_attributes: Mapping[str, Any] = field(default_factory=dict)  # the caller's own, for the generation span


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # of the prompt tokens, those found in the prefix cache

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Timings:
    """Seconds, measured from when the request reached the engine."""

    queue_s: float  # waiting before its prefill started
    time_to_first_token_s: float
    total_s: float
    decode_s: float  # from first to last token
    engine_s: float = 0.0  # its share of step time, each step's split by the tokens computed (an hourly price's)

    def time_per_output_token_s(self, completion_tokens: int) -> float:
        return self.decode_s / (completion_tokens - 1) if completion_tokens > 1 else 0.0


@dataclass(frozen=True)
class TokenLogprob:
    """A sampled token's log probability under the model (before temperature, top-k or top-p) and the
    likeliest tokens at its position, most likely first."""

    token_id: int
    logprob: float
    top: tuple[tuple[int, float], ...] = ()  # (token id, log probability)


@dataclass(frozen=True)
class GenerationResult:
    request_id: str
    text: str
    token_ids: tuple[int, ...]
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    trace_id: str | None = None  # the generation span's, when telemetry is on
    span_id: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None  # one per generated token, when the request asked
    prompt_logprobs: tuple[TokenLogprob, ...] | None = None  # one per prompt token after the first, when asked
    prompt_token_ids: tuple[int, ...] = ()
