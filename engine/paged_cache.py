"""The paged KV cache in tensors: one pool of slots per layer, and the index view a step reads and writes.

Slots are grouped into the blocks the BlockManager hands out. A step computes B rows of up to T
tokens each; `KVView` tells every layer where those tokens' keys and values go (`write`) and which
slots each row attends to, in position order (`read`), so attention sees a row's own positions only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.config import ModelConfig
from engine.kernels import PackedKernels


class PagedKVCache:
    """Keys and values of one layer: [n_slots, n_kv_heads, head_dim] each. Owned by whoever runs the model
    (the model holds none), so engines sharing one set of weights never share a cache. With the CPU kernels,
    decoding rows attend to their slots in place; otherwise each row's keys and values are gathered for SDPA."""

    def __init__(self, n_slots: int, n_kv_heads: int, head_dim: int, dtype: torch.dtype,
                 device: torch.device | str, kernels: PackedKernels | None = None) -> None:
        shape = (n_slots, n_kv_heads, head_dim)
        # zeros, not empty: padding slots are read (then masked), and 0 * NaN garbage would be NaN
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.kernels = kernels if dtype == torch.float32 and self.k.device.type == "cpu" else None

    def attend(self, view: "KVView", q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Write this step's keys and values, then attend: q [B, nh, T, hd], k and v [B, T, n_kv, hd] for this
        step's tokens; returns [B, nh, T, hd]."""
        self.k.index_copy_(0, view.write, k.flatten(0, 1))
        self.v.index_copy_(0, view.write, v.flatten(0, 1))
        B, nh, T, hd = q.shape
        if self.kernels is not None and T == 1:
            y = self.kernels.attention_decode(q.reshape(B, nh, hd).contiguous(), self.k, self.v, view.read,
                                              view.lengths)
            return y.view(B, nh, 1, hd)
        slots = view.read.flatten()  # index_select: several times faster than advanced indexing on CPU
        L = view.read.shape[1]
        k = self.k.index_select(0, slots).view(B, L, *self.k.shape[1:]).transpose(1, 2)  # [B, n_kv, L, hd]
        v = self.v.index_select(0, slots).view(B, L, *self.v.shape[1:]).transpose(1, 2)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=view.mask, enable_gqa=True)


def allocate_caches(cfg: ModelConfig, n_slots: int, dtype: torch.dtype, device: torch.device | str,
                    kernels: PackedKernels | None = None) -> tuple[PagedKVCache, ...]:
    """One cache per layer of a model with config `cfg`."""
    return tuple(PagedKVCache(n_slots, cfg.n_kv_heads, cfg.head_dim, dtype, device, kernels)
                 for _ in range(cfg.n_layers))


@dataclass(frozen=True)
class KVView:
    caches: tuple[PagedKVCache, ...]  # one per layer
    write: Tensor  # [B*T] slot of each token computed this step (padding tokens write the padding block)
    read: Tensor  # [B, L] slot of each row's positions 0..L-1 (past a row's end: the padding block)
    lengths: Tensor  # [B] positions each row attends to after this step (its end)
    mask: Tensor | None  # [B, 1, T, L], True = attend; None when every row attends to all L


def kv_view(caches: tuple[PagedKVCache, ...], tables: list[list[int]], starts: list[int], ends: list[int],
            block_size: int, device: torch.device) -> tuple[KVView, Tensor]:
    """The view for rows computing positions [starts[b], ends[b]) with block tables `tables`,
    and the positions [B, T] of their tokens (padding tokens at position 0)."""
    B, T, L = len(tables), max(e - s for s, e in zip(starts, ends)), max(ends)
    width = max(len(t) for t in tables)
    table = torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.long)  # [B, blocks]
    pos = torch.arange(L)  # [L]
    inside = pos < torch.tensor(ends)[:, None]  # [B, L]
    read = torch.where(inside, table[:, pos // block_size] * block_size + pos % block_size, 0)  # [B, L]
    offsets = torch.arange(T)  # [T]
    input_pos = torch.tensor(starts)[:, None] + offsets  # [B, T]
    real = input_pos < torch.tensor(ends)[:, None]  # [B, T]
    input_pos = torch.where(real, input_pos, 0)
    write = torch.where(real, read.gather(1, input_pos), 0)  # [B, T]
    if B == 1 and T == 1:
        mask = None
    else:  # causal within each row; a padding token attends to position 0 only, which keeps it finite
        mask = (pos <= input_pos[..., None]) & inside[:, None, :]  # [B, T, L]
        mask = torch.where(real[..., None], mask, pos == 0).unsqueeze(1)
    return (KVView(caches, write.flatten().to(device), read.to(device), torch.tensor(ends).to(device),
                   None if mask is None else mask.to(device)), input_pos.to(device))

