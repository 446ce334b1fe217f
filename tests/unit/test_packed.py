"""Packed weights (engine.packed, engine/csrc/cpu_kernels.cpp): a matrix quantised by gguf's own Q4_0, Q4_1
and Q8_0 code is found again bit for bit, and multiplies as its dense float32 matrix does (to float32
rounding, at every batch size the kernel tiles differently); float32 data is not mistaken for a grid;
requantised int8 and int4 come close; decode attention read in place equals SDPA over the gathered cache; a
whole layer in the kernel decodes as the layer in torch; an engine loaded from a quantised GGUF packs every
matrix yet generates what the dense layout generates."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize

from engine import GenerationRequest, InvalidRequestError, SamplingParams
from engine.devices import resolve
from engine.engine import Engine
from engine.kernels import packed_kernels
from engine.loader import load_model
from engine.packed import PackedLinear, grid, pack_linears, requantise_i8, requantise_u4
from engine.paged_cache import PagedKVCache, kv_view
from tests.paged_decode import decode_logits
from tests.tiny_models import hf_state_dict, write_gguf

GGUF_GRIDS = [(Q.Q4_0, 4), (Q.Q4_1, 4), (Q.Q8_0, 8)]


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory):
    found = packed_kernels(tmp_path_factory.mktemp("kernels"))
    assert found is not None, "the CPU kernels did not build (g++ missing?)"
    return found


def gguf_weight(qtype: Q, shape: tuple[int, int], seed: int) -> torch.Tensor:
    """A float32 matrix as a GGUF of type `qtype` gives it back: quantised and dequantised by gguf itself."""
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 0.05
    return torch.from_numpy(np.array(dequantize(quantize(a, qtype), qtype), dtype=np.float32).reshape(shape))


@pytest.mark.parametrize("qtype,bits", GGUF_GRIDS, ids=lambda v: getattr(v, "name", str(v)))
def test_a_gguf_grid_is_found_again_bit_for_bit(kernels, qtype, bits) -> None:
    weight = gguf_weight(qtype, (96, 256), seed=qtype.value)
    found = grid(weight)
    assert found is not None
    layer = PackedLinear(kernels, *found)
    assert layer.bits == bits
    assert torch.equal(layer.weight, weight)


@pytest.mark.parametrize("rows", [1, 2, 3, 5, 8, 9, 17, 40])
@pytest.mark.parametrize("qtype", [Q.Q4_1, Q.Q8_0], ids=lambda q: q.name)
def test_packed_products_equal_the_dense_matrix_to_float32_rounding(kernels, qtype, rows) -> None:
    weight = gguf_weight(qtype, (72, 192), seed=rows)  # 72 rows: the kernel's tiles of 32 end part-way
    layer = PackedLinear(kernels, *grid(weight))
    x = torch.randn(rows, 3, 192, generator=torch.Generator().manual_seed(rows))
    want = x.double() @ weight.double().T
    got = layer(x)
    assert got.shape == (rows, 3, 72) and got.dtype == torch.float32
    assert (got.double() - want).abs().max() <= 1e-5 * want.abs().max()


def test_float32_data_is_not_taken_for_a_grid() -> None:
    weight = torch.randn(64, 128, generator=torch.Generator().manual_seed(0))
    assert grid(weight) is None
    assert grid(torch.randn(8, 48)) is None  # the input is not a whole number of blocks
    q8 = gguf_weight(Q.Q8_0, (32, 64), seed=1)
    assert grid(q8, max_bits=4) is None  # an 8-bit grid is not a 4-bit one


@pytest.mark.parametrize("requantise,tolerance", [(requantise_i8, 0.01), (requantise_u4, 0.15)])
def test_requantised_weights_stay_close(kernels, requantise, tolerance) -> None:
    weight = torch.randn(64, 256, generator=torch.Generator().manual_seed(3))
    layer = PackedLinear(kernels, *requantise(weight))
    error = (layer.weight - weight).abs().max() / weight.abs().max()
    assert 0 < error <= tolerance
    x = torch.randn(4, 256, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(layer(x), x @ layer.weight.T, atol=1e-4, rtol=1e-4)


def test_a_layer_in_the_kernel_decodes_as_the_layer_in_torch(tmp_path) -> None:
    path = write_gguf(tmp_path / "q4_1.gguf", hf_state_dict(seed=5), qtype=Q.Q4_1)
    fused, in_torch = load_model(path, device="cpu"), load_model(path, device="cpu")
    assert all(layer.decode_kernel is not None for layer in fused.model.layers)
    for layer in in_torch.model.layers:
        layer.decode_kernel = None
    prompts = [[1, 2, 3, 4, 5], list(range(10, 40)), [7]]  # rows at different lengths, across block boundaries
    for rows in (prompts, prompts + [[1 + i, 3] for i in range(130)]):  # enough rows to share the SiLU out
        want = decode_logits(in_torch, rows, steps=5)
        assert (decode_logits(fused, rows, steps=5) - want).abs().max() <= 1e-5 * want.abs().max()


@pytest.mark.parametrize("lengths", [[1], [37], [5, 16, 33]], ids=str)
def test_decode_attention_in_place_equals_sdpa_over_the_gathered_cache(kernels, lengths) -> None:
    g = torch.Generator().manual_seed(len(lengths))
    plain, fast = (PagedKVCache(256, 2, 64, torch.float32, "cpu", k) for k in (None, kernels))
    for cache in (plain, fast):
        cache.k.copy_(torch.randn(256, 2, 64, generator=torch.Generator().manual_seed(7)))
        cache.v.copy_(torch.randn(256, 2, 64, generator=torch.Generator().manual_seed(8)))
    tables = [[1 + 4 * b + i for i in range(4)] for b in range(len(lengths))]
    view, _ = kv_view((plain,), tables, [n - 1 for n in lengths], lengths, 16, torch.device("cpu"))
    q = torch.randn(len(lengths), 8, 1, 64, generator=g)
    k, v = torch.randn(len(lengths), 1, 2, 64, generator=g), torch.randn(len(lengths), 1, 2, 64, generator=g)
    torch.testing.assert_close(fast.attend(view, q, k, v), plain.attend(view, q, k, v), atol=1e-5, rtol=1e-5)
    assert torch.equal(fast.k, plain.k)  # the new keys were written to the same slots


def test_without_a_compiler_the_engine_stays_dense_and_says_so(tmp_path, monkeypatch, caplog, tiny_gguf) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no g++ or c++ on it
    with caplog.at_level(logging.WARNING):
        assert packed_kernels(tmp_path / "no-compiler") is None
    assert "no C++ compiler" in caplog.text
    with pytest.raises(InvalidRequestError, match="int4 needs the packed kernels"):
        load_model(tiny_gguf, device="cpu", quantize="int4", kernel_cache=tmp_path / "no-compiler")
    loaded = load_model(tiny_gguf, device="cpu", kernel_cache=tmp_path / "no-compiler")
    assert loaded.packing is None and loaded.kernels is None


def test_a_quantised_gguf_packs_every_matrix_and_generates_as_the_dense_layout(tmp_path) -> None:
    path = write_gguf(tmp_path / "q4_1.gguf", hf_state_dict(seed=11), qtype=Q.Q4_1)
    packed = load_model(path, device="cpu")
    dense = load_model(path, device="cpu", packed=False)
    assert packed.packing is not None and packed.packing.dense == packed.packing.requantised == 0
    assert packed.packing.exact == 2 * 4 + 1  # four matrices a layer and the output projection
    assert packed.weights_sha256 == dense.weights_sha256  # the same numbers: the same answers' cache
    assert torch.equal(packed.model.layers[1].feed_forward.w13.weight, dense.model.layers[1].feed_forward.w13.weight)
    requests = [GenerationRequest(prompt=p, params=SamplingParams(temperature=0, max_tokens=12, ignore_eos=True))
                for p in ("hello", "the cat sat", "abc")]
    texts = [[r.text for r in Engine(m, max_batch_size=4, kv_cache_tokens=512).generate(requests)]
             for m in (packed, dense)]
    assert texts[0] == texts[1]


@pytest.mark.parametrize("quantize", ["int8", "int4"])
def test_a_requantised_engine_generates_under_its_own_identity(tiny_gguf, quantize) -> None:
    device, dtype, found = resolve("cpu", quantize)
    assert (device.type, dtype, found) == ("cpu", torch.float32, quantize)
    plain = Engine.load(tiny_gguf, device="cpu", max_batch_size=2, kv_cache_tokens=512)
    quantized = Engine.load(tiny_gguf, device="cpu", max_batch_size=2, kv_cache_tokens=512, quantize=quantize)
    assert plain.loaded.packing.exact == 0  # the tiny GGUF is float32: nothing to find
    assert quantized.loaded.weights_sha256 == plain.loaded.weights_sha256 + f"+{quantize}"  # its answers cache apart
    assert quantized.model.layers[0].feed_forward.w13.bits == (4 if quantize == "int4" else 8)
    assert quantized.model.output.bits == 8
    result = quantized.generate([GenerationRequest(prompt="hello", params=SamplingParams(temperature=0,
                                                                                         max_tokens=6))])[0]
    assert result.usage.completion_tokens >= 1
    with pytest.raises(InvalidRequestError, match="CPU"):
        Engine.load(tiny_gguf, device="cpu", dtype=torch.bfloat16, quantize=quantize)


def test_pack_linears_leaves_a_float32_model_dense_without_a_quantisation(kernels) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False))
    assert pack_linears(model, kernels).dense == 1 and isinstance(model[0], torch.nn.Linear)
