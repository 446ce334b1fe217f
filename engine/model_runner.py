"""The model runner: turns a step's chunks into tensors, runs the model over the paged cache, samples.

Chunks of one token (decoding) and longer chunks (prefill) run as two forward passes, so decoding
rows are never padded out to a prompt's length.
"""

from __future__ import annotations

import torch
from torch import Tensor

from engine.model import Transformer
from engine.paged_cache import allocate_caches, kv_view
from engine.request import TokenLogprob
from engine.sampling import sample, token_logprobs
from engine.scheduler import Chunk


class ModelRunner:
    def __init__(self, model: Transformer, device: torch.device, *, n_blocks: int, block_size: int) -> None:
        self.model, self.device, self.block_size = model, device, block_size
        weight = model.tok_embeddings.weight
        self.caches = allocate_caches(model.config, n_blocks * block_size, weight.dtype, weight.device)

    @torch.inference_mode()
    def execute(self, chunks: tuple[Chunk, ...]) -> dict[int, tuple[int, TokenLogprob | None]]:
        """Compute every chunk; return the sampled token of each chunk that ends at its sequence's last
        token (with its log probabilities, when its request asked), keyed by the chunk's index in `chunks`."""
        sampled: dict[int, tuple[int, TokenLogprob | None]] = {}
        for group in ([i for i, c in enumerate(chunks) if c.end - c.start == 1],
                      [i for i, c in enumerate(chunks) if c.end - c.start > 1]):
            if not group:
                continue
            logits = self.logits([chunks[i] for i in group])
            rows = [k for k, i in enumerate(group) if chunks[i].samples]
            if rows:
                picked = [chunks[group[k]].seq for k in rows]
                tokens = sample(logits[rows], [s.request.params for s in picked], [s.generator for s in picked])
                asked = [j for j, s in enumerate(picked) if s.request.params.logprobs is not None]
                logprobs: dict[int, TokenLogprob] = {}
                if asked:
                    found = token_logprobs(logits[[rows[j] for j in asked]], [tokens[j] for j in asked],
                                           [picked[j].request.params.logprobs for j in asked])
                    logprobs = dict(zip(asked, found))
                sampled.update((group[k], (t, logprobs.get(j))) for j, (k, t) in enumerate(zip(rows, tokens)))
        return sampled

    def logits(self, chunks: list[Chunk]) -> Tensor:
        """Logits [B, V] at the last token of each chunk."""
        starts, ends = [c.start for c in chunks], [c.end for c in chunks]
        view, input_pos = kv_view(self.caches, [c.seq.blocks for c in chunks], starts, ends, self.block_size, self.device)
        width = input_pos.shape[1]
        tokens = [c.seq.tokens(c.start, c.end) for c in chunks]
        tokens = torch.tensor([t + [0] * (width - len(t)) for t in tokens], device=self.device)  # [B, T]
        last = torch.tensor([e - s - 1 for s, e in zip(starts, ends)], device=self.device)  # [B]
        return self.model(tokens, input_pos, view, logits_at=last)
