"""Pure functions from logits to next tokens; no model or scheduler state."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

from engine.request import TokenLogprob
from engine.sampling_params import SamplingParams


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


def token_logprobs(logits: Tensor, tokens: Sequence[int], k: Sequence[int]) -> list[TokenLogprob]:
    """Each row's chosen token's log probability under the raw logits [B, V], and its top k[row] tokens."""
    logp = logits.float().log_softmax(-1)
    chosen = logp.gather(-1, torch.tensor(tokens, device=logp.device)[:, None])[:, 0].tolist()
    widest = max(k)
    top_lp, top_ids = logp.topk(widest, dim=-1) if widest else (logp[:, :0], logp[:, :0].long())
    top_lp, top_ids = top_lp.tolist(), top_ids.tolist()
    return [TokenLogprob(t, lp, tuple(zip(top_ids[r][:k[r]], top_lp[r][:k[r]])))
            for r, (t, lp) in enumerate(zip(tokens, chosen))]


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
