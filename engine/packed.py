"""Weight matrices held packed in blocks of 32 (GGUF's Q4_0, Q4_1 and Q8_0 shapes) and multiplied in float32.

A CPU decode step reads every weight once, so its speed is bytes a weight. The default model's file is
already 4-bit (Q4_1, the output projection Q8_0): dequantised to float32 it moves 538 MB a token, packed
about 100 MB. So on the CPU every matrix whose float32 values are exactly such a block grid is held as that
grid, and `engine/csrc/cpu_kernels.cpp` rebuilds each weight in registers (one fused multiply-add, exact)
and multiplies in float32: the same numbers as the dense matrix, only summed in another order. Whether a
matrix is such a grid is checked, not assumed: it is packed only if every rebuilt weight equals its float32
value bit for bit.

`int8` and `int4` go further and requantise the matrices that are not already a grid of that many bits
(float32, float16 and bfloat16 checkpoints): 8-bit blocks with one scale (Q8_0's shape), or 4-bit blocks
with a scale and a minimum (Q4_1's). `int4` keeps the output projection at 8 bits, whose errors every logit
shares. A requantised matrix changes the answers; a grid found again does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from engine.kernels import PackedKernels, PackedMatrix

BLOCK = 32
BITS = {"int8": 8, "int4": 4}  # the --dtype choices that requantise, and the bits they allow a layer matrix


class PackedLinear(nn.Module):
    """y = x @ W.T with W [out, in] held as 4- or 8-bit codes in blocks of BLOCK along the input."""

    def __init__(self, kernels: PackedKernels, codes: Tensor, scales: Tensor, mins: Tensor | None) -> None:
        super().__init__()
        self.kernels, self.matrix = kernels, PackedMatrix(codes, scales, mins)
        self.out_features, self.in_features = self.matrix.n, self.matrix.k
        self.bits = 8 if mins is None else 4

    @property
    def weight(self) -> Tensor:
        """The dense [out, in] float32 matrix the codes stand for (a copy, for inspection and tests)."""
        m = self.matrix
        if m.mins is None:
            q = m.codes.float().view(self.out_features, -1, BLOCK)
            return (m.scales[..., None] * q).view(self.out_features, -1)
        return torch.addcmul(m.mins[..., None], m.scales[..., None], _unpack_nibbles(m.codes)).view(
            self.out_features, -1)

    def forward(self, x: Tensor) -> Tensor:
        y = self.kernels.matmul(x.reshape(-1, self.in_features).float().contiguous(), self.matrix)
        return y.view(*x.shape[:-1], self.out_features)


@dataclass(frozen=True)
class PackReport:
    """How a model's matrices ended up: packed as found, requantised, or left dense."""

    exact: int = 0
    requantised: int = 0
    dense: int = 0


def pack_linears(model: nn.Module, kernels: PackedKernels, quantize: str | None = None) -> PackReport:
    """Swap each bias-free nn.Linear of `model` for a PackedLinear: where its weights are a block grid already,
    always; else, under `quantize` ("int8" or "int4"), requantised. Returns what happened to each."""
    exact = requantised = dense = 0
    for name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if not isinstance(child, nn.Linear) or child.bias is not None:
                continue
            full = f"{name}.{child_name}" if name else child_name
            bits = None if quantize is None else 8 if full == "output" else BITS[quantize]
            found = grid(child.weight, max_bits=bits or 8)
            if found is None and bits is not None and child.in_features % BLOCK == 0:
                found = requantise_u4(child.weight) if bits == 4 else requantise_i8(child.weight)
                requantised += 1
            elif found is not None:
                exact += 1
            if found is None:
                dense += 1
                continue
            setattr(parent, child_name, PackedLinear(kernels, *found))
    return PackReport(exact=exact, requantised=requantised, dense=dense)


Packing = tuple[Tensor, Tensor, Tensor | None]  # codes, scales, mins (None: 8-bit, no minimum)


def grid(weight: Tensor, *, max_bits: int = 8) -> Packing | None:
    """The block grid `weight` lies on exactly, if it is one (4-bit tried first), else None."""
    if weight.dim() != 2 or weight.shape[1] % BLOCK or weight.dtype != torch.float32:
        return None
    g = weight.detach().reshape(weight.shape[0], -1, BLOCK)  # [N, K/B, B]
    found = _exact_u4(g)
    if found is None and max_bits >= 8:
        found = _exact_i8(g)
    return found


def requantise_u4(weight: Tensor) -> Packing:
    """4-bit codes with a float32 scale and minimum a block: w ~ scale * q + min, q from 0 to 15."""
    g = weight.detach().float().reshape(weight.shape[0], -1, BLOCK)
    low, high = g.amin(-1), g.amax(-1)
    return _u4(g, (high - low) / 15, low)


def requantise_i8(weight: Tensor) -> Packing:
    """8-bit codes with a float32 scale a block: w ~ scale * q, q from -127 to 127."""
    g = weight.detach().float().reshape(weight.shape[0], -1, BLOCK)
    return _i8(g, g.abs().amax(-1) / 127)


def _exact_u4(g: Tensor) -> Packing | None:
    """Q4_1's grid (the block's minimum is code 0, its maximum code 15) or, block by block where that misses,
    Q4_0's (scale = the largest-magnitude value / -8, minimum = -8 * scale), with float16 scales as GGUF's."""
    low, high = g.amin(-1), g.amax(-1)
    codes, scales, mins = _u4(g, _f16((high - low) / 15), low)
    hit = _rebuilds(g, _unpack_nibbles(codes), scales, mins)
    if not hit.all():
        extreme = torch.where(high.abs() > low.abs(), high, low)
        scales0 = _f16(extreme / -8)
        codes0, scales0, mins0 = _u4(g, scales0, -8 * scales0)
        hit0 = _rebuilds(g, _unpack_nibbles(codes0), scales0, mins0)
        if not (hit | hit0).all():
            return None
        use0 = ~hit
        codes = torch.where(use0[..., None], codes0.view(*g.shape[:2], -1), codes.view(*g.shape[:2], -1)).view(
            codes.shape)
        scales, mins = torch.where(use0, scales0, scales), torch.where(use0, mins0, mins)
    return codes, scales, mins


def _exact_i8(g: Tensor) -> Packing | None:
    """Q8_0's grid: scale = the block's largest magnitude / 127, float16 as GGUF's."""
    codes, scales, _ = _i8(g, _f16(g.abs().amax(-1) / 127))
    q = codes.view(g.shape).float()
    return (codes, scales, None) if torch.equal(scales[..., None] * q, g) else None


def _u4(g: Tensor, scales: Tensor, mins: Tensor) -> Packing:
    step = torch.where(scales != 0, scales, 1)[..., None]
    q = ((g - mins[..., None]) / step).round().clamp(0, 15).to(torch.uint8)  # [N, K/B, B]
    codes = (q[..., :16] | (q[..., 16:] << 4)).reshape(g.shape[0], -1)  # GGUF's order: j low, j + 16 high
    return codes.contiguous(), scales.contiguous(), mins.contiguous()


def _i8(g: Tensor, scales: Tensor) -> Packing:
    step = torch.where(scales != 0, scales, 1)[..., None]
    q = (g / step).round().clamp(-127, 127).to(torch.int8)
    return q.reshape(g.shape[0], -1).contiguous(), scales.contiguous(), None


def _unpack_nibbles(codes: Tensor) -> Tensor:
    """[N, K/2] bytes -> [N, K/B, B] codes as float32."""
    b = codes.view(codes.shape[0], -1, BLOCK // 2)
    return torch.cat([b & 15, b >> 4], dim=-1).float()


def _rebuilds(g: Tensor, q: Tensor, scales: Tensor, mins: Tensor) -> Tensor:
    """Which blocks scale * q + min gives back bit for bit: [N, K/B]."""
    return (torch.addcmul(mins[..., None], scales[..., None], q) == g).all(-1)


def _f16(x: Tensor) -> Tensor:
    return x.half().float()
