"""Weight layout for fp32 decode on CPU, where a step is bound by how fast the weights are read.

Each step reads every weight once (478 MB of matrices for SmolLM2-135M in fp32), and MKL's fp32
matrix-vector product keeps to one core: measured here, x @ W runs as fast on one thread as on two.
Splitting each matrix into column shards and multiplying them as one batched matmul lets PyTorch
give each core a shard: the 30 layers' matrices went from 22.6 to 11.9 ms a step and the output
projection from 4.2 to 2.0 ms. Each shard is stored [in, out/shards], the order MKL's fp32 GEMV
reads fastest (28.5 -> 22.3 ms unsharded). bf16 gains nothing from this (oneDNN already splits),
so it is applied to fp32 on CPU only. Values never change, only where they sit in memory.

A batch of rows wants narrower shards than one row does. For the 49,152 x 576 output projection,
measured here (2 threads): one row takes 3.4 ms in 2 shards and 5.3 ms in 64; 32 rows take 39 ms in
2 shards and 21 ms in 64 shards of 768 columns, whose panels stay in cache. So a matrix of 64 MiB or
more also keeps a second layout, used whenever more than one row is multiplied (113 MB more for the
default model). Smaller matrices gained under 15% from other shard counts, within this machine's noise.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


BATCH_LAYOUT_MIN_BYTES = 64 << 20
BATCH_SHARD_COLUMNS = 768


def _sharded(weight: Tensor, n_shards: int) -> nn.Parameter:
    out_features, in_features = weight.shape
    # [out, in] -> [S, out/S, in] -> [S, in, out/S]
    shards = weight.detach().reshape(n_shards, out_features // n_shards, in_features).transpose(1, 2)
    return nn.Parameter(shards.contiguous(), requires_grad=False)


class ColumnShardedLinear(nn.Module):
    """y = x @ W.T with W [out, in] held as `shards` [S, in, out/S]; the same numbers as nn.Linear.
    With `batch_shards`, a second layout in that many shards serves inputs of more than one row."""

    def __init__(self, weight: Tensor, n_shards: int, batch_shards: int | None = None) -> None:
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.shards = _sharded(weight, n_shards)
        self.batch_layout = None if batch_shards is None else _sharded(weight, batch_shards)

    @property
    def weight(self) -> Tensor:
        """The dense [out, in] matrix (a copy), for inspection."""
        return self.shards.transpose(1, 2).reshape(self.out_features, self.in_features)

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        w = self.shards if self.batch_layout is None or x.numel() == self.in_features else self.batch_layout
        rows = x.reshape(1, -1, self.in_features).expand(w.shape[0], -1, -1)  # [S, M, in]
        y = torch.bmm(rows, w)  # [S, M, out/S]
        return y.transpose(0, 1).reshape(*lead, self.out_features)  # [M, S, out/S] -> [..., out]; a view when M == 1


def shard_linears_for_cpu(model: nn.Module, n_shards: int | None = None) -> None:
    """Swap every nn.Linear whose rows divide evenly for a ColumnShardedLinear (one shard per thread), with a
    batch layout for the largest matrices."""
    n_shards = n_shards or torch.get_num_threads()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and child.bias is None and child.out_features % n_shards == 0:
                w = child.weight
                big = w.numel() * w.element_size() >= BATCH_LAYOUT_MIN_BYTES and w.shape[0] % BATCH_SHARD_COLUMNS == 0
                setattr(parent, name, ColumnShardedLinear(w, n_shards, w.shape[0] // BATCH_SHARD_COLUMNS if big else None))
