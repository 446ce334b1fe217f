"""Sampling parameters and pure functions from logits to next tokens; no model or scheduler state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from engine.errors import InvalidRequestError


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
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise bad("seed", "must be an integer")
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise bad("max_tokens", "must be an integer >= 1")
        if not isinstance(self.stop, tuple) or not all(isinstance(s, str) and s for s in self.stop):
            raise bad("stop", "must be a tuple of non-empty strings")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def make_generator(seed: int | None, device: torch.device) -> torch.Generator:
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    return g


def filter_logits(logits: Tensor, *, temperature: float, top_k: int, top_p: float) -> Tensor:
    """Temperature-scaled logits [V] with everything outside top-k and the top-p nucleus set to -inf."""
    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, -math.inf)
    if top_p < 1.0:
        sorted_logits, order = logits.sort(descending=True)
        probs = sorted_logits.softmax(-1)
        outside = probs.cumsum(-1) - probs > top_p  # mass before this token already exceeds top_p
        logits = logits.index_put((order[outside],), torch.tensor(-math.inf, device=logits.device))
    return logits


def sample(logits: Tensor, params: Sequence[SamplingParams], generators: Sequence[torch.Generator]) -> list[int]:
    """One next token per row of `logits` [B, V], each row with its own parameters and generator."""
    greedy = logits.argmax(-1).tolist()
    out = []
    for row, (p, g) in enumerate(zip(params, generators)):
        if p.greedy:
            out.append(greedy[row])
            continue
        probs = filter_logits(logits[row], temperature=p.temperature, top_k=p.top_k, top_p=p.top_p).softmax(-1)
        out.append(int(torch.multinomial(probs, 1, generator=g)))
    return out
