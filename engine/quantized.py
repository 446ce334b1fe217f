"""Weight-only quantised linear layers for CPU decode, on torch's own packed kernels.

Decode reads every weight once a step, so fewer bytes a weight is the speed. torch ships vectorised
CPU kernels for weight-only int4 (groupwise scales and zeros, `_weight_int4pack_mm_for_cpu`) and int8
(per output channel, `_weight_int8pack_mm`). Both are fast only with bfloat16 activations: measured
here (2 cores, AVX-512), a 576 x 1536 product took 1,800 us with float32 activations and 34 us with
bfloat16, against 62 us for the float32 matrix. So the rest of the model stays float32 and only the
input of each product is rounded to bfloat16.

`int4`: every matrix in 4-bit groups of 32 along its input, asymmetric (scale and zero per group), and
the output projection (the tied embedding, Q8_0 in the default model's file) in int8 per channel. The
default model's Q4_1 blocks are groups of 32 along the input whose smallest value is code 0 and
largest code 15, so a min-max requantisation finds their own grid again: the codes are the file's,
and only the scales and zeros are rounded (to bfloat16, which the kernel takes).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

GROUP = 32  # Q4_1's block size
INNER_K_TILES = 2  # the packing torch's CPU int4 kernel reads


class Int4Linear(nn.Module):
    """y = x @ W.T with W held as 4-bit codes in groups of GROUP along the input: W ~ (q - 8) * scale + zero."""

    def __init__(self, weight: Tensor) -> None:
        super().__init__()
        self.out_features, self.in_features = weight.shape
        w = weight.detach().float().reshape(self.out_features, -1, GROUP)
        low, high = w.amin(-1), w.amax(-1)
        scale = ((high - low) / 15).clamp(min=1e-12)
        codes = ((w - low[..., None]) / scale[..., None]).round().clamp(0, 15).to(torch.int32)
        self.packed = torch._convert_weight_to_int4pack_for_cpu(codes.reshape(self.out_features, -1), INNER_K_TILES)
        zero = low + 8 * scale  # torch's convention: the code 8 sits at `zero`
        self.scales_and_zeros = torch.stack([scale, zero], -1).transpose(0, 1).contiguous().bfloat16()  # [K/G, N, 2]

    def forward(self, x: Tensor) -> Tensor:
        rows = x.reshape(-1, self.in_features).bfloat16()
        y = torch._weight_int4pack_mm_for_cpu(rows, self.packed, GROUP, self.scales_and_zeros)
        return y.to(x.dtype).reshape(*x.shape[:-1], self.out_features)


class Int8Linear(nn.Module):
    """y = x @ W.T with W held as int8 codes and one scale per output channel: W ~ q * scale."""

    def __init__(self, weight: Tensor) -> None:
        super().__init__()
        self.out_features, self.in_features = weight.shape
        w = weight.detach().float()
        scale = (w.abs().amax(1) / 127).clamp(min=1e-12)
        self.codes = (w / scale[:, None]).round().clamp(-127, 127).to(torch.int8)
        self.scales = scale.bfloat16()

    def forward(self, x: Tensor) -> Tensor:
        rows = x.reshape(-1, self.in_features).bfloat16()
        y = torch._weight_int8pack_mm(rows, self.codes, self.scales)
        return y.to(x.dtype).reshape(*x.shape[:-1], self.out_features)


def quantize_linears(model: nn.Module) -> None:
    """Every linear layer of `model` in int4, its output projection in int8 (the embedding table it may
    share stays float32: a lookup reads one row a token)."""
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                full = f"{name}.{child_name}" if name else child_name
                quantized = Int8Linear(child.weight) if full == "output" else Int4Linear(child.weight)
                setattr(module, child_name, quantized)
