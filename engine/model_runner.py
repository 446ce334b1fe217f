"""The model runner: turns a step's chunks into tensors, runs the model over the paged cache, samples.

Chunks of one token (decoding) and longer chunks (prefill) run as two forward passes, so decoding
rows are never padded out to a prompt's length.
"""

from __future__ import annotations

import torch
from torch import Tensor

from engine.grammar import Grammars
from engine.kernels import PackedKernels
from engine.model import Transformer
from engine.paged_cache import allocate_caches, kv_view
from engine.request import TokenLogprob
from engine.sampling import sample, token_logprobs
from engine.scheduler import Chunk


class ModelRunner:
    def __init__(self, model: Transformer, device: torch.device, grammars: Grammars, *, n_blocks: int,
                 block_size: int, kernels: PackedKernels | None = None) -> None:
        self.model, self.device, self.grammars, self.block_size = model, device, grammars, block_size
        weight = model.tok_embeddings.weight
        self.caches = allocate_caches(model.config, n_blocks * block_size, weight.dtype, weight.device, kernels)

    @torch.inference_mode()
    def execute(self, chunks: tuple[Chunk, ...]) -> dict[int, tuple[int, TokenLogprob | None]]:
        """Compute every chunk; return the sampled token of each chunk that ends at its sequence's last
        token (with its log probabilities, when its request asked), keyed by the chunk's index in `chunks`.
        A structured output's token is sampled among those its schema allows; its log probabilities are
        the model's own, before the mask. Chunks whose request scores its prompt run as their own forward,
        with logits at every position; each prompt token's log probability is kept on its sequence."""
        sampled: dict[int, tuple[int, TokenLogprob | None]] = {}
        scores = [_scores_prompt(c) for c in chunks]
        scoring = [i for i, s in enumerate(scores) if s]
        for group in ([i for i, c in enumerate(chunks) if not scores[i] and c.end - c.start == 1],
                      [i for i, c in enumerate(chunks) if not scores[i] and c.end - c.start > 1], scoring):
            if not group:
                continue
            if group is scoring:
                every = self.logits([chunks[i] for i in group], every_position=True)  # [B, T, V]
                _keep_prompt_logprobs([chunks[i] for i in group], every)
                ends = torch.tensor([chunks[i].end - chunks[i].start - 1 for i in group], device=every.device)
                logits = every[torch.arange(len(group), device=every.device), ends]
            else:
                logits = self.logits([chunks[i] for i in group])
            sampled |= self._sample(chunks, group, logits)
        return sampled

    def _sample(self, chunks: tuple[Chunk, ...], group: list[int],
                logits: Tensor) -> dict[int, tuple[int, TokenLogprob | None]]:
        """The next token of each chunk of `group` that reaches its sequence's end, from `logits` [B, V]."""
        rows = [k for k, i in enumerate(group) if chunks[i].samples]
        if not rows:
            return {}
        picked = [chunks[group[k]].seq for k in rows]
        allowed = logits[rows]  # a copy: `logits` stays the model's own, for the log probabilities
        self.grammars.constrain(allowed, [s.matcher for s in picked])
        tokens = sample(allowed, [s.request.params for s in picked], [s.generator for s in picked])
        asked = [j for j, s in enumerate(picked) if s.request.params.logprobs is not None]
        logprobs: dict[int, TokenLogprob] = {}
        if asked:
            found = token_logprobs(logits[[rows[j] for j in asked]], [tokens[j] for j in asked],
                                   [picked[j].request.params.logprobs for j in asked])
            logprobs = dict(zip(asked, found))
        return {group[k]: (t, logprobs.get(j)) for j, (k, t) in enumerate(zip(rows, tokens))}

    def logits(self, chunks: list[Chunk], every_position: bool = False) -> Tensor:
        """Logits [B, V] at the last token of each chunk, or [B, T, V] at every position."""
        starts, ends = [c.start for c in chunks], [c.end for c in chunks]
        view, input_pos = kv_view(self.caches, [c.seq.blocks for c in chunks], starts, ends, self.block_size, self.device)
        width = input_pos.shape[1]
        tokens = [c.seq.tokens(c.start, c.end) for c in chunks]
        tokens = torch.tensor([t + [0] * (width - len(t)) for t in tokens], device=self.device)  # [B, T]
        last = torch.tensor([e - s - 1 for s, e in zip(starts, ends)], device=self.device)  # [B]
        return self.model(tokens, input_pos, view, logits_at=None if every_position else last)


def _scores_prompt(chunk: Chunk) -> bool:
    """The chunk computes a position whose logits give a prompt token's log probability, and its request
    asked for them."""
    return chunk.seq.request.params.prompt_logprobs is not None and chunk.start < len(chunk.seq.prompt_ids) - 1


def _keep_prompt_logprobs(chunks: list[Chunk], every: Tensor) -> None:
    """Each chunk's prompt tokens' log probabilities from `every` [B, T, V]: position p's logits give
    prompt token p + 1's. A position already kept (recomputed after a preemption) is not kept twice."""
    for b, c in enumerate(chunks):
        seq = c.seq
        positions = range(max(c.start, len(seq.prompt_logprobs)), min(c.end, len(seq.prompt_ids) - 1))
        if positions:
            rows = every[b, positions.start - c.start:positions.stop - c.start]
            seq.prompt_logprobs.extend(token_logprobs(rows, seq.prompt_ids[positions.start + 1:positions.stop + 1],
                                                      [seq.request.params.prompt_logprobs] * len(positions)))
