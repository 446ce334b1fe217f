"""Batched generation with a KV cache and continuous batching: finished sequences make room for waiting ones.

Each sequence keeps its own positions, sampling parameters and random generator, so its tokens
depend on nothing but its own request.
"""

from __future__ import annotations

import time
from collections import deque
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
def prefill(model: Transformer, prompts: list[list[int]], device: torch.device,
            slots: list[int] | None = None) -> Tensor:
    """Run prompts through the model (right-padded) into cache rows `slots` (default 0..B-1).
    Logits at each prompt's last token: [B, V]."""
    width = max(len(p) for p in prompts)
    tokens = torch.tensor([p + [0] * (width - len(p)) for p in prompts], device=device)  # [B, width]
    input_pos = torch.arange(width, device=device).expand(len(prompts), width)  # [B, width]
    rows = None if slots is None else torch.tensor(slots, device=device)
    logits = model(tokens, input_pos, kv_len=width, mask=attention_mask(input_pos, width), slots=rows)  # [B, width, V]
    last = torch.tensor([len(p) - 1 for p in prompts], device=device)
    return logits[torch.arange(len(prompts), device=device), last]  # padding wrote past each prompt; never attended


@torch.inference_mode()
def decode_one_token(model: Transformer, tokens: list[int], positions: list[int], device: torch.device) -> Tensor:
    """Logits [B, V] for one new token per cache row at its own position."""
    input_pos = torch.tensor(positions, device=device)[:, None]  # [B, 1]
    kv_len = max(positions) + 1
    mask = None if len(positions) == 1 else attention_mask(input_pos, kv_len)
    return model(torch.tensor(tokens, device=device)[:, None], input_pos, kv_len=kv_len, mask=mask)[:, 0]


Event = tuple[int, str | None]  # (sequence index, new text), or (index, None) once that sequence has finished


def generate_batch(model: Transformer, seqs: list[SequenceState], eos_ids: frozenset[int], device: torch.device,
                   max_batch: int) -> Iterator[Event]:
    """Generate every sequence to completion with continuous batching over `max_batch` cache rows.

    A step admits waiting sequences into free rows (prefilling only them), then decodes one token
    for every row; a row whose sequence finishes is free for the next one at the following step.
    Idle rows decode a dummy token at position 0, which the next prefill of that row overwrites.
    """
    n_rows = min(max_batch, len(seqs))
    model.setup_caches(n_rows, max(len(s.prompt_ids) + s.max_new_tokens for s in seqs))
    waiting = deque(range(len(seqs)))
    running: dict[int, int] = {}  # cache row -> sequence index
    while waiting or running:
        free = [row for row in range(n_rows) if row not in running][: len(waiting)]
        if free:
            joining = {row: waiting.popleft() for row in free}
            started = time.perf_counter()
            for i in joining.values():
                seqs[i].started = started
            slots = None if len(free) == n_rows else free  # the first fill writes every row in order
            logits = prefill(model, [seqs[i].prompt_ids for i in joining.values()], device, slots)
            running.update(joining)
            yield from _advance(logits, list(joining), seqs, running, eos_ids)
        if running:
            rows = range(n_rows)
            tokens = [seqs[running[r]].out[-1] if r in running else 0 for r in rows]
            positions = [seqs[running[r]].next_pos if r in running else 0 for r in rows]
            logits = decode_one_token(model, tokens, positions, device)
            active = [r for r in rows if r in running]
            yield from _advance(logits[active], active, seqs, running, eos_ids)


def _advance(logits: Tensor, rows: list[int], seqs: list[SequenceState], running: dict[int, int],
             eos_ids: frozenset[int]) -> Iterator[Event]:
    """Sample one token for each cache row in `rows` (logits row k is cache row rows[k]) and append it."""
    picked = [seqs[running[r]] for r in rows]
    tokens = sample(logits, [s.request.params for s in picked], [s.generator for s in picked])
    now = time.perf_counter()
    for row, token in zip(rows, tokens):
        i = running[row]
        yield from _append(i, seqs[i], token, eos_ids, now)
        if seqs[i].finish_reason is not None:
            del running[row]
            yield i, None


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
