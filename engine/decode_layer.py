"""A whole decoder layer in one call to the CPU kernels (`csrc/decode_layer.cpp`), for rows decoding one token.

On two cores a decode step of the default model is about 9 ms of products; the thirty-odd small torch operators
a layer around them cost as much again in dispatch. So where every matrix of a layer is packed, a decode step
hands the layer to the kernel whole: the same TransformerBlock, the same float32 numbers (some sums in another
order). Prefill, and anything not packed, runs the layer in torch as before.
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from engine.kernels import PackedKernels, PackedMatrix
from engine.packed import PackedLinear
from engine.paged_cache import KVView, PagedKVCache

_p, _i64 = ctypes.c_void_p, ctypes.c_int64


class _Matrix(ctypes.Structure):
    _fields_ = [("codes", _p), ("scales", _p), ("mins", _p), ("n", _i64), ("k", _i64)]

    @classmethod
    def of(cls, layer: PackedLinear) -> "_Matrix":
        m: PackedMatrix = layer.matrix
        return cls(m.codes_at, m.scales_at, m.mins_at, m.n, m.k)


class _Layer(ctypes.Structure):
    _fields_ = [("attention_norm", _p), ("ffn_norm", _p), ("wqkv", _Matrix), ("wo", _Matrix), ("w13", _Matrix),
                ("w2", _Matrix), ("eps", ctypes.c_float), ("dim", _i64), ("n_heads", _i64), ("n_kv", _i64),
                ("head_dim", _i64), ("ffn_dim", _i64)]


class DecodeLayer:
    """Callable as TransformerBlock.forward for a decode step: x [B, 1, dim], cos and sin [B, 1, 1, head_dim]."""

    def __init__(self, kernels: PackedKernels, block: torch.nn.Module) -> None:
        attn, ffn = block.attention, block.feed_forward
        norms = (block.attention_norm.weight.detach(), block.ffn_norm.weight.detach())
        matrices = _matrices(block)
        self._alive = (norms, [m.matrix for m in matrices])  # every tensor the addresses below point into
        self._call = kernels.decode_layer
        self._layer = _Layer(norms[0].data_ptr(), norms[1].data_ptr(), *map(_Matrix.of, matrices),
                             block.attention_norm.eps, attn.wo.out_features, attn.n_heads, attn.n_kv_heads,
                             attn.head_dim, ffn.w2.in_features)

    def __call__(self, x: Tensor, cos: Tensor, sin: Tensor, kv: KVView, cache: PagedKVCache) -> Tensor:
        B = x.shape[0]
        y = x.reshape(B, -1).clone()
        self._call(self._layer, y, cos.contiguous(), sin.contiguous(), cache.k, cache.v, kv.write, kv.read,
                   kv.lengths)
        return y.view(x.shape)


def fuse_decode_layers(model: torch.nn.Module, kernels: PackedKernels) -> None:
    """Give every layer whose four matrices are all packed (and contiguous norms) a DecodeLayer."""
    for block in model.layers:
        norms = (block.attention_norm, block.ffn_norm)
        if (all(isinstance(m, PackedLinear) for m in _matrices(block)) and norms[0].eps == norms[1].eps
                and all(n.weight.is_contiguous() and n.weight.dtype == torch.float32 for n in norms)):
            block.decode_kernel = DecodeLayer(kernels, block)


def _matrices(block: torch.nn.Module) -> tuple[torch.nn.Module, ...]:
    """A layer's four matrices, in the order csrc/decode_layer.cpp's gg_layer holds them."""
    return block.attention.wqkv, block.attention.wo, block.feed_forward.w13, block.feed_forward.w2
