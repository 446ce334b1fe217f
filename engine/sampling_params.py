"""A request's sampling parameters, with OpenAI's meanings and checks. Torch-free: the scheduler, the
server's request models and the harness build these without loading a model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.errors import InvalidRequestError


MAX_TOP_LOGPROBS = 20  # OpenAI's limit


@dataclass(frozen=True)
class SamplingParams:
    """Per-request decoding settings, with OpenAI's meanings. temperature 0 is greedy; top_k 0 is off."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    max_tokens: int = 256
    stop: tuple[str, ...] = field(default=())
    ignore_eos: bool = False  # benchmarks: decode exactly max_tokens
    logprobs: int | None = None  # each sampled token's log probability and its `logprobs` likeliest rivals (0-20)
    prompt_logprobs: int | None = None  # each prompt token's log probability (after the first) and its rivals
    json_schema: str | None = None  # JSON text of a schema the output must match (engine.grammar enforces it)

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> InvalidRequestError:
            return InvalidRequestError.for_field(name, f"{why}, got {getattr(self, name)!r}")

        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) \
                or not math.isfinite(self.temperature) or self.temperature < 0:
            raise bad("temperature", "must be a finite number >= 0")
        if isinstance(self.top_p, bool) or not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise bad("top_p", "must be in (0, 1]")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise bad("top_k", "must be an integer >= 0 (0 turns it off)")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or not 0 <= self.seed < 2**63):
            raise bad("seed", "must be an integer from 0 to 2**63 - 1")
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise bad("max_tokens", "must be an integer >= 1")
        if not isinstance(self.stop, tuple) or not all(isinstance(s, str) and s for s in self.stop):
            raise bad("stop", "must be a tuple of non-empty strings")
        for name in ("logprobs", "prompt_logprobs"):
            k = getattr(self, name)
            if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= MAX_TOP_LOGPROBS):
                raise bad(name, f"must be an integer from 0 to {MAX_TOP_LOGPROBS}")
        if self.json_schema is not None and not isinstance(self.json_schema, str):
            raise bad("json_schema", "must be a JSON schema as JSON text")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0
