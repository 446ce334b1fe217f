"""A Llama-family decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU), read top to bottom.

Q/K/V and gate/up are fused into one matrix each: on CPU a decode step is dominated by per-operator
overhead rather than arithmetic, so fewer, larger operators are the main lever on single-stream speed.
Compilation (torch.compile, CUDA graphs) is the caller's choice, never applied in here; so is the CPU
kernel a packed layer may be given for decode steps (engine.decode_layer), which computes this same layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import ModelConfig
from engine.paged_cache import KVView, PagedKVCache


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

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, kv: KVView | None, cache: PagedKVCache | None) -> Tensor:
        B, T, D = x.shape
        n_qk = self.n_heads + self.n_kv_heads
        qkv = self.wqkv(x).view(B, T, n_qk + self.n_kv_heads, self.head_dim)
        qk = apply_rope(qkv[:, :, :n_qk], cos, sin)  # q and k rotated together: [B, T, nh+nkv, hd]
        q = qk[:, :, : self.n_heads].transpose(1, 2)  # [B, nh, T, hd]
        k, v = qk[:, :, self.n_heads :], qkv[:, :, n_qk:]  # [B, T, nkv, hd] each
        if kv is None:  # no cache: the tokens attend causally to each other
            y = F.scaled_dot_product_attention(q, k.transpose(1, 2), v.transpose(1, 2), is_causal=True, enable_gqa=True)
        else:
            y = cache.attend(kv, q, k, v)  # [B, nh, T, hd]
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
        self.decode_kernel = None  # the whole layer in one CPU kernel call, where it is packed (engine.decode_layer)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, kv: KVView | None, cache: PagedKVCache | None) -> Tensor:
        if self.decode_kernel is not None and cache is not None and cache.kernels is not None and x.shape[1] == 1:
            return self.decode_kernel(x, cos, sin, kv, cache)
        h = x + self.attention(self.attention_norm(x), cos, sin, kv, cache)
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

    def forward(self, tokens: Tensor, input_pos: Tensor, kv: KVView | None = None,
                logits_at: Tensor | None = None) -> Tensor:
        """Logits for `tokens` [B, T] at positions `input_pos` [B, T]: [B, T, vocab], or [B, vocab] at token
        index `logits_at` [B] of each row. Keys and values go to the paged cache where `kv` says; without
        `kv`, each row is one whole sequence and nothing is cached (reference forwards, tests)."""
        dtype = self.tok_embeddings.weight.dtype
        if self.rope_cos is None or self.rope_cos.device != tokens.device:  # built once, on first use
            self.rope_cos, self.rope_sin = rope_tables(self.config, tokens.device)
        cos = self.rope_cos[input_pos].to(dtype).unsqueeze(2)  # [B, T, 1, hd]
        sin = self.rope_sin[input_pos].to(dtype).unsqueeze(2)
        x = self.tok_embeddings(tokens)  # [B, T, dim]
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, kv, None if kv is None else kv.caches[i])
        if logits_at is not None:
            x = x[torch.arange(x.shape[0], device=x.device), logits_at]  # [B, dim]
        return self.output(self.norm(x)).float()
