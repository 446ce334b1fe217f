"""One request's life in the engine: its tokens, how many are in the KV cache, its blocks and timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from engine.request import FinishReason, GenerationRequest, GenerationResult, Timings, TokenLogprob, Usage
from engine.text_stream import TextStream

# Called from the engine's stepping thread: (sequence, new text, finished). The last call has finished=True.
Sink = Callable[["Sequence", str, bool], None]


@dataclass(eq=False)
class Sequence:
    request: GenerationRequest
    prompt_ids: list[int]
    max_new_tokens: int
    generator: Any  # the request's own random generator (a torch.Generator; opaque to the scheduler)
    text: TextStream
    arrived: float
    sink: Sink
    out: list[int] = field(default_factory=list)
    num_computed: int = 0  # leading tokens whose keys and values are in the cache
    blocks: list[int] = field(default_factory=list)  # the block table
    block_keys: list[bytes] = field(default_factory=list)  # the prefix-cache keys of its first full blocks
    cached_tokens: int = 0  # prompt tokens found in the prefix cache rather than computed
    finish_reason: FinishReason | None = None
    preemptions: int = 0
    error: str | None = None  # set when the engine failed while this sequence was live
    started: float = 0.0
    first_token_at: float = 0.0
    last_token_at: float = 0.0
    engine_s: float = 0.0  # its share of step time: each step's time split by the tokens each sequence computed
    span_ids: Any = None  # telemetry's SpanIds of the generation span, once written
    logprobs: list[TokenLogprob] = field(default_factory=list)  # one per generated token, when asked
    prompt_logprobs: list[TokenLogprob] = field(default_factory=list)  # of prompt tokens 1.., when asked
    after: "Sequence | None" = None  # a sibling with the same prompt: admitted once its prompt is computed,
    # so that this one finds the prompt's blocks in the prefix cache (n choices, epochs: one prefill)
    matcher: Any = None  # the llguidance matcher of a structured output (engine.grammar), following `out`

    @property
    def waits(self) -> bool:
        """Its sibling's prompt is still being computed."""
        first = self.after
        return first is not None and first.finish_reason is None and first.num_computed < len(first.prompt_ids)

    @property
    def num_tokens(self) -> int:
        return len(self.prompt_ids) + len(self.out)

    def tokens(self, start: int, end: int) -> list[int]:
        n = len(self.prompt_ids)
        if end <= n:
            return self.prompt_ids[start:end]
        return (self.prompt_ids[start:] if start < n else []) + self.out[max(start - n, 0):end - n]

    def append(self, token: int, logprob: TokenLogprob | None = None, *, eos_ids: frozenset[int], now: float) -> str:
        """Take one sampled token; return the text it makes showable and set `finish_reason` when done."""
        if not self.out:
            self.first_token_at = now
        self.last_token_at = now
        self.out.append(token)  # an EOS token stays in token_ids (it was generated) but never shows as text
        if self.matcher is not None:
            self.matcher.consume_token(token)
        if logprob is not None:
            self.logprobs.append(logprob)
        if token in eos_ids and not self.request.params.ignore_eos:
            self.finish_reason = "stop"
            return self.text.flush()
        delta = self.text.push(self.out)
        if self.text.stopped:
            self.finish_reason = "stop"
        elif len(self.out) >= self.max_new_tokens:
            self.finish_reason = "length"
        return delta + self.text.flush() if self.finish_reason else delta

    def result(self) -> GenerationResult:
        started = self.started or self.last_token_at or self.arrived
        return GenerationResult(
            request_id=self.request.request_id, text=self.text.text, token_ids=tuple(self.out),
            finish_reason=self.finish_reason or "length",
            usage=Usage(prompt_tokens=len(self.prompt_ids), completion_tokens=len(self.out),
                        cached_tokens=self.cached_tokens),
            timings=Timings(queue_s=started - self.arrived,
                            time_to_first_token_s=max(self.first_token_at - self.arrived, 0.0),
                            total_s=max(self.last_token_at, started) - self.arrived,
                            decode_s=max(self.last_token_at - self.first_token_at, 0.0), engine_s=self.engine_s),
            trace_id=self.span_ids.trace_id if self.span_ids else None,
            span_id=self.span_ids.span_id if self.span_ids else None,
            logprobs=tuple(self.logprobs) if self.request.params.logprobs is not None else None,
            prompt_logprobs=tuple(self.prompt_logprobs) if self.request.params.prompt_logprobs is not None else None,
            prompt_token_ids=tuple(self.prompt_ids),
        )
