"""The default model held packed (engine.packed): its file is Q4_1 with a Q8_0 output projection, so every
matrix is found again as its grid and multiplies as the dense float32 matrix does; int8 and int4 have nothing
left to requantise and give the float32 answers. Decode steps through the whole-layer kernel
(engine.decode_layer) give the logits of the layers in torch. `goldgate generate --dtype int8|int4` runs from
the CLI. Parity with transformers runs on the packed layout (the default) in test_parity_transformers;
docs/BENCHMARKS.md has the speed and general-v1 through `goldgate compare`."""

from __future__ import annotations

import pytest
import torch

from engine.loader import load_model
from engine.packed import PackedLinear
from tests.cli_helpers import run_cli
from tests.integration.test_parity_transformers import CHATS
from tests.paged_decode import decode_logits

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def dense(default_model_path):
    return load_model(default_model_path, device="cpu", packed=False)


@pytest.mark.parametrize("quantize", [None, "int8", "int4"])
def test_every_matrix_is_packed_as_found_and_computes_the_dense_logits(default_model_path, dense, quantize) -> None:
    packed = load_model(default_model_path, device="cpu", quantize=quantize)
    assert packed.packing is not None
    assert (packed.packing.exact, packed.packing.requantised, packed.packing.dense) == (30 * 4 + 1, 0, 0)
    assert packed.weights_sha256 == dense.weights_sha256  # nothing requantised: the float32 answers' cache
    layer = packed.model.layers[7].attention.wqkv
    assert isinstance(layer, PackedLinear) and layer.bits == 4 and packed.model.output.bits == 8
    assert torch.equal(layer.weight, dense.model.layers[7].attention.wqkv.weight)  # bit for bit
    for chat in CHATS:
        ids = torch.tensor([dense.tokenizer.encode(dense.tokenizer.chat_template.render(chat))])
        positions = torch.arange(ids.shape[1])[None]
        with torch.inference_mode():
            want, got = (m.model(ids, positions)[0] for m in (dense, packed))
        assert (got - want).abs().max() < 1e-3
        assert torch.equal(got.argmax(-1), want.argmax(-1))


def test_decode_steps_through_the_layer_kernel_give_the_torch_layers_logits(default_model_path, dense) -> None:
    packed = load_model(default_model_path, device="cpu")
    assert all(layer.decode_kernel is not None for layer in packed.model.layers)
    assert all(layer.decode_kernel is None for layer in dense.model.layers)
    chats = [packed.tokenizer.encode(packed.tokenizer.chat_template.render(c)) for c in CHATS[:3]]
    fused, in_torch = decode_logits(packed, chats, steps=6), decode_logits(dense, chats, steps=6)
    assert (fused - in_torch).abs().max() < 1e-4 * in_torch.abs().max()  # the same numbers, summed otherwise
    assert torch.equal(fused.argmax(-1), in_torch.argmax(-1))


@pytest.mark.parametrize("dtype", ["int8", "int4"])
def test_the_cli_generates_with_a_quantised_dtype(capsys, dtype) -> None:
    code, out, err = run_cli(capsys, "generate", "--dtype", dtype, "--device", "cpu", "--max-tokens", "8",
                             "--temperature", "0", "What is the capital of France?")
    assert code == 0, err
    assert "Paris" in out
