"""Decode steps through the paged cache, as the engine's scheduler drives them, for tests that compare logits."""

from __future__ import annotations

import torch

from engine.loader import LoadedModel
from engine.paged_cache import allocate_caches, kv_view


def decode_logits(loaded: LoadedModel, prompts: list[list[int]], steps: int) -> torch.Tensor:
    """Prefill each prompt into its own blocks, then decode all rows together for `steps` steps, each row fed
    the same fixed tokens: [steps, rows, vocab]."""
    block = 16
    tables, at = [], 1  # block 0 is the padding block
    for ids in prompts:
        need = (len(ids) + steps) // block + 1
        tables.append(list(range(at, at + need)))
        at += need
    caches = allocate_caches(loaded.config, at * block, torch.float32, "cpu", loaded.kernels)
    out = []
    with torch.inference_mode():
        for table, ids in zip(tables, prompts):
            view, pos = kv_view(caches, [table], [0], [len(ids)], block, torch.device("cpu"))
            loaded.model(torch.tensor([ids]), pos, view)
        ends = [len(ids) for ids in prompts]
        for step in range(steps):
            view, pos = kv_view(caches, tables, ends, [e + 1 for e in ends], block, torch.device("cpu"))
            tokens = torch.tensor([[100 + (7 * step + row) % 100] for row in range(len(prompts))])
            out.append(loaded.model(tokens, pos, view, logits_at=torch.zeros(len(prompts), dtype=torch.long)))
            ends = [e + 1 for e in ends]
    return torch.stack(out)
