"""Batched generation with a KV cache: prefill every prompt at once, then decode one token a step.

Each sequence keeps its own positions, sampling parameters and random generator, so its tokens
depend on nothing but its own request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import Tensor

from engine.model import Transformer, attention_mask
from engine.request import FinishReason, GenerationRequest, GenerationResult, Timings, Usage
from engine.sampling import sample
from engine.text_stream import TextStream


@dataclass
class SequenceState:
    request: GenerationRequest
    prompt_ids: list[int]
    max_new_tokens: int
    generator: torch.Generator
    text: TextStream
    arrived: float
    out: list[int] = field(default_factory=list)
    finish_reason: FinishReason | None = None
    started: float = 0.0
    first_token_at: float = 0.0
    last_token_at: float = 0.0

    @property
    def next_pos(self) -> int:
        return len(self.prompt_ids) + len(self.out) - 1  # where the newest token goes in the cache

    def result(self) -> GenerationResult:
        return GenerationResult(
            request_id=self.request.request_id, text=self.text.text, token_ids=tuple(self.out),
            finish_reason=self.finish_reason or "length",
            usage=Usage(prompt_tokens=len(self.prompt_ids), completion_tokens=len(self.out)),
            timings=Timings(queue_s=self.started - self.arrived, time_to_first_token_s=self.first_token_at - self.arrived,
                            total_s=self.last_token_at - self.arrived, decode_s=self.last_token_at - self.first_token_at),
        )


@torch.inference_mode()
def prefill(model: Transformer, prompts: list[list[int]], device: torch.device) -> Tensor:
    """Run every prompt through the model (right-padded); logits at each prompt's last token: [B, V]."""
    width = max(len(p) for p in prompts)
    tokens = torch.tensor([p + [0] * (width - len(p)) for p in prompts], device=device)  # [B, width]
    input_pos = torch.arange(width, device=device).expand(len(prompts), width)  # [B, width]
    logits = model(tokens, input_pos, kv_len=width, mask=attention_mask(input_pos, width))  # [B, width, V]
    last = torch.tensor([len(p) - 1 for p in prompts], device=device)
    return logits[torch.arange(len(prompts), device=device), last]  # padding wrote past each prompt; never attended


@torch.inference_mode()
def decode_one_token(model: Transformer, tokens: list[int], positions: list[int], device: torch.device) -> Tensor:
    """Logits [B, V] for one new token per sequence at its own position."""
    input_pos = torch.tensor(positions, device=device)[:, None]  # [B, 1]
    kv_len = max(positions) + 1
    mask = None if len(positions) == 1 else attention_mask(input_pos, kv_len)
    return model(torch.tensor(tokens, device=device)[:, None], input_pos, kv_len=kv_len, mask=mask)[:, 0]


def generate_batch(model: Transformer, seqs: list[SequenceState], eos_ids: frozenset[int],
                   device: torch.device) -> Iterator[tuple[int, str]]:
    """Generate every sequence to completion, yielding (sequence index, new text) as text appears."""
    model.setup_caches(len(seqs), max(len(s.prompt_ids) + s.max_new_tokens for s in seqs))
    now = time.perf_counter()
    for s in seqs:
        s.started = now
    logits = prefill(model, [s.prompt_ids for s in seqs], device)
    while True:
        tokens = sample(logits, [s.request.params for s in seqs], [s.generator for s in seqs])
        now = time.perf_counter()
        for i, (s, token) in enumerate(zip(seqs, tokens)):
            if s.finish_reason is not None:
                continue
            yield from _append(i, s, token, eos_ids, now)
        if all(s.finish_reason is not None for s in seqs):
            return
        # finished rows keep decoding their last token in place until the batch drains
        logits = decode_one_token(model, [s.out[-1] for s in seqs], [s.next_pos for s in seqs], device)


def _append(i: int, s: SequenceState, token: int, eos_ids: frozenset[int], now: float) -> Iterator[tuple[int, str]]:
    if not s.out:
        s.first_token_at = now
    s.last_token_at = now
    s.out.append(token)  # an EOS token stays in token_ids (it was generated) but never shows as text
    if token in eos_ids and not s.request.params.ignore_eos:
        s.finish_reason = "stop"
    else:
        delta = s.text.push(s.out)
        if delta:
            yield i, delta
        if s.text.stopped:
            s.finish_reason = "stop"
        elif len(s.out) >= s.max_new_tokens:
            s.finish_reason = "length"
    if s.finish_reason is not None:
        tail = s.text.flush()
        if tail:
            yield i, tail
