"""Weight-only int4 and int8 layers on torch's CPU kernels: a Q4_1-style grid (codes 0 to 15 in groups of
32, each group using both ends) comes back code for code; products agree with the float32 matrix's within
the rounding of bfloat16 activations; and an engine loaded as int4 generates, under its own cache identity."""

from __future__ import annotations

import pytest
import torch

from engine import GenerationRequest, InvalidRequestError, SamplingParams
from engine.devices import resolve
from engine.engine import Engine
from engine.quantized import GROUP, Int4Linear, Int8Linear


def q4_1_grid(out_features: int, in_features: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A weight as llama.cpp's Q4_1 leaves it (d * q + m a group, q from 0 to 15, both used), and its codes."""
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 16, (out_features, in_features // GROUP, GROUP), generator=g)
    codes[..., 0], codes[..., 1] = 0, 15
    d = torch.rand(out_features, in_features // GROUP, 1, generator=g) * 0.01 + 0.001
    m = -torch.rand(out_features, in_features // GROUP, 1, generator=g) * 0.05
    return (codes * d + m).reshape(out_features, in_features), codes.reshape(out_features, in_features)


def test_int4_finds_a_q4_1_grid_again_code_for_code() -> None:
    weight, codes = q4_1_grid(64, 128)
    layer = Int4Linear(weight)
    probe = torch.eye(128)  # column k of the dequantised matrix, one product at a time
    columns = layer(probe).T  # [out, in]
    scale, zero = layer.scales_and_zeros.float().transpose(0, 1).unbind(-1)  # [out, in/G] each
    found = ((columns.reshape(64, -1, GROUP) - zero[..., None]) / scale[..., None] + 8).round()
    assert torch.equal(found.reshape(64, 128).long(), codes)


@pytest.mark.parametrize("layer", [Int4Linear, Int8Linear])
def test_products_agree_with_the_float32_matrix_within_bfloat16_rounding(layer) -> None:
    weight, _ = q4_1_grid(96, 256, seed=1)
    x = torch.randn(5, 256, generator=torch.Generator().manual_seed(2))
    want = x @ weight.T
    got = layer(weight)(x)
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert (got - want).abs().max() <= 0.02 * want.abs().max()


def test_an_int4_engine_generates_under_its_own_identity(tiny_gguf) -> None:
    device, dtype, quantize = resolve("cpu", "int4")
    assert (device.type, dtype, quantize) == ("cpu", torch.float32, "int4")
    plain = Engine.load(tiny_gguf, device="cpu", max_batch_size=2, kv_cache_tokens=512)
    quantized = Engine.load(tiny_gguf, device="cpu", max_batch_size=2, kv_cache_tokens=512, quantize="int4")
    assert quantized.loaded.weights_sha256 == plain.loaded.weights_sha256 + "+int4"  # its answers cache apart
    assert isinstance(quantized.model.layers[0].feed_forward.w13, Int4Linear)
    assert isinstance(quantized.model.output, Int8Linear)
    result = quantized.generate([GenerationRequest(prompt="hello", params=SamplingParams(temperature=0,
                                                                                         max_tokens=6))])[0]
    assert result.usage.completion_tokens >= 1
    with pytest.raises(InvalidRequestError, match="CPU"):
        Engine.load(tiny_gguf, device="cpu", dtype=torch.bfloat16, quantize="int4")
