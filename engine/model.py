"""A Llama-family decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU), read top to bottom.

Q/K/V and gate/up are fused into one matrix each: on CPU a decode step is dominated by per-operator
overhead rather than arithmetic, so fewer, larger operators are the main lever on single-stream speed.
Compilation (torch.compile, CUDA graphs) is the caller's choice, never applied in here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import ModelConfig


class KVCache(nn.Module):
    """Keys and values of every cached position: [batch, n_kv_heads, max_len, head_dim] each."""

    def __init__(self, batch: int, max_len: int, n_kv_heads: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device | str) -> None:
        super().__init__()
        shape = (batch, n_kv_heads, max_len, head_dim)
        self.register_buffer("k", torch.zeros(shape, dtype=dtype, device=device), persistent=False)
        self.register_buffer("v", torch.zeros(shape, dtype=dtype, device=device), persistent=False)

    def update(self, input_pos: Tensor, k: Tensor, v: Tensor, kv_len: int,
               slots: Tensor | None = None) -> tuple[Tensor, Tensor]:
        # input_pos: [B, T]; k, v: [B, n_kv, T, hd]; slots: [B] cache rows of the batch (None: rows 0..B-1)
        if slots is None and input_pos.shape[0] == 1:  # one sequence: a plain index copy along the position axis
            self.k[:1].index_copy_(2, input_pos[0], k)
            self.v[:1].index_copy_(2, input_pos[0], v)
            return self.k[:1, :, :kv_len], self.v[:1, :, :kv_len]
        rows = slots if slots is not None else torch.arange(input_pos.shape[0], device=input_pos.device)
        self.k[rows[:, None], :, input_pos] = k.transpose(1, 2)  # indexed view is [B, T, n_kv, hd]
        self.v[rows[:, None], :, input_pos] = v.transpose(1, 2)
        if slots is not None:  # a few sequences joining a running batch: gather their rows
            return self.k[slots, :, :kv_len], self.v[slots, :, :kv_len]
        return self.k[:, :, :kv_len], self.v[:, :, :kv_len]


def rope_tables(cfg: ModelConfig, device: torch.device | str) -> tuple[Tensor, Tensor]:
    """cos and sign-folded sin for every position: [max_seq_len, head_dim] each.

    Llama rotates the two halves of each head: x*cos + rotate_half(x)*sin, with
    rotate_half(x) = [-x2, x1]. Folding the minus into sin turns rotate_half into a plain roll.
    """
    half = cfg.head_dim // 2
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, half, dtype=torch.float64) / half))
    angles = torch.outer(torch.arange(cfg.max_seq_len, dtype=torch.float64), inv_freq)  # [S, hd/2]
    angles = torch.cat([angles, angles], dim=-1)  # [S, hd]
    sign = torch.cat([-torch.ones(half), torch.ones(half)]).double()
    return angles.cos().float().to(device), (angles.sin() * sign).float().to(device)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    # x: [B, T, heads, hd]; cos, sin: [B, T, 1, hd]
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.wqkv = nn.Linear(cfg.dim, (cfg.n_heads + 2 * cfg.n_kv_heads) * cfg.head_dim, bias=False)
        self.wo = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.kv_cache: KVCache | None = None

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, input_pos: Tensor,
                mask: Tensor | None, kv_len: int, slots: Tensor | None) -> Tensor:
        B, T, D = x.shape
        n_qk = self.n_heads + self.n_kv_heads
        qkv = self.wqkv(x).view(B, T, n_qk + self.n_kv_heads, self.head_dim)
        qk = apply_rope(qkv[:, :, :n_qk], cos, sin)  # q and k rotated together: [B, T, nh+nkv, hd]
        q = qk[:, :, : self.n_heads].transpose(1, 2)  # [B, nh, T, hd]
        k = qk[:, :, self.n_heads :].transpose(1, 2)  # [B, nkv, T, hd]
        v = qkv[:, :, n_qk:].transpose(1, 2)  # [B, nkv, T, hd]
        k, v = self.kv_cache.update(input_pos, k, v, kv_len, slots)  # [B, nkv, kv_len, hd]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)  # [B, nh, T, hd]
        return self.wo(y.transpose(1, 2).reshape(B, T, D))


class FeedForward(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.w13 = nn.Linear(cfg.dim, 2 * cfg.ffn_dim, bias=False)  # gate and up, fused
        self.w2 = nn.Linear(cfg.ffn_dim, cfg.dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.w13(x).chunk(2, dim=-1)
        return self.w2(F.silu(gate) * up)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


class TransformerBlock(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attention = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.feed_forward = FeedForward(cfg)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, input_pos: Tensor,
                mask: Tensor | None, kv_len: int, slots: Tensor | None) -> Tensor:
        h = x + self.attention(self.attention_norm(x), cos, sin, input_pos, mask, kv_len, slots)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:  # SmolLM2 and other small models share input and output embeddings
            self.output.weight = self.tok_embeddings.weight
        self.rope_cos: Tensor | None = None
        self.rope_sin: Tensor | None = None

    def setup_caches(self, batch: int, max_len: int) -> None:
        """Allocate a KV cache for `batch` sequences of up to `max_len` positions each."""
        weight = self.tok_embeddings.weight
        for layer in self.layers:
            layer.attention.kv_cache = KVCache(batch, max_len, self.config.n_kv_heads, self.config.head_dim,
                                               weight.dtype, weight.device)
        if self.rope_cos is None or self.rope_cos.device != weight.device:
            self.rope_cos, self.rope_sin = rope_tables(self.config, weight.device)

    def forward(self, tokens: Tensor, input_pos: Tensor, *, kv_len: int,
                mask: Tensor | None = None, last_only: bool = False, slots: Tensor | None = None) -> Tensor:
        """Logits for `tokens` [B, T] at positions `input_pos` [B, T], attending to cache[:kv_len].

        `slots` [B] names the cache rows of a batch smaller than the cache (sequences joining a
        running batch); without it, row i of the batch is row i of the cache.

        `mask` [B, 1, T, kv_len] (True = attend) is needed unless every row attends to all of
        cache[:kv_len]; `attention_mask` builds it.
        """
        dtype = self.tok_embeddings.weight.dtype
        cos = self.rope_cos[input_pos].to(dtype).unsqueeze(2)  # [B, T, 1, hd]
        sin = self.rope_sin[input_pos].to(dtype).unsqueeze(2)
        x = self.tok_embeddings(tokens)  # [B, T, dim]
        for layer in self.layers:
            x = layer(x, cos, sin, input_pos, mask, kv_len, slots)
        if last_only:
            x = x[:, -1:]
        return self.output(self.norm(x)).float()  # [B, T or 1, vocab]


def attention_mask(input_pos: Tensor, kv_len: int) -> Tensor:
    """Causal mask for queries at `input_pos` [B, T] over cache positions [0, kv_len): [B, 1, T, kv_len]."""
    keys = torch.arange(kv_len, device=input_pos.device)
    return (keys <= input_pos[..., None]).unsqueeze(1)
