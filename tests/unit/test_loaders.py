"""Weight loaders: every supported tensor type, GGUF and safetensors agree, transformers agrees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from gguf import GGMLQuantizationType as Q

from engine.cpu_layout import ColumnShardedLinear
from engine.loader import load_model
from tests.tiny_models import hf_state_dict, write_gguf, write_hf_folder

PROMPT = [[3, 17, 250, 41, 99, 7, 256, 12]]


def engine_logits(path: Path) -> torch.Tensor:
    m = load_model(path, device="cpu").model
    tokens = torch.tensor(PROMPT)
    pos = torch.arange(tokens.shape[1])[None]
    with torch.inference_mode():
        return m(tokens, pos)


def reference_logits(path: Path) -> torch.Tensor:
    kwargs = {"gguf_file": path.name} if path.is_file() else {}
    folder = path.parent if path.is_file() else path
    ref = transformers.AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, **kwargs).eval()
    with torch.inference_mode():
        return ref(torch.tensor(PROMPT)).logits


@pytest.mark.parametrize("qtype", [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1], ids=lambda q: q.name)
def test_gguf_tensor_types_match_transformers(tmp_path: Path, qtype: Q) -> None:
    path = write_gguf(tmp_path / f"tiny-{qtype.name}.gguf", qtype=qtype)
    torch.testing.assert_close(engine_logits(path), reference_logits(path), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("tie", [True, False], ids=["tied", "untied"])
def test_safetensors_folder_matches_transformers(tmp_path: Path, tie: bool) -> None:
    folder = write_hf_folder(tmp_path / "hf", tie=tie)
    torch.testing.assert_close(engine_logits(folder), reference_logits(folder), atol=1e-4, rtol=1e-4)


def test_gguf_and_safetensors_give_the_same_state_dict(tmp_path: Path) -> None:
    sd = hf_state_dict(seed=3)
    a = load_model(write_gguf(tmp_path / "m.gguf", sd), device="cpu").model.state_dict()
    b = load_model(write_hf_folder(tmp_path / "hf", sd), device="cpu").model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=0, rtol=0, msg=key)


def test_fused_matrices_hold_the_source_rows_in_order(tmp_path: Path) -> None:
    sd = hf_state_dict(seed=5)
    m = load_model(write_hf_folder(tmp_path / "hf", sd), device="cpu").model
    wqkv = m.layers[1].attention.wqkv.weight
    q, k, v = (sd[f"model.layers.1.self_attn.{n}_proj.weight"] for n in "qkv")
    torch.testing.assert_close(wqkv, torch.cat([q, k, v]), atol=0, rtol=0)
    gate, up = (sd[f"model.layers.1.mlp.{n}_proj.weight"] for n in ("gate", "up"))
    torch.testing.assert_close(m.layers[1].feed_forward.w13.weight, torch.cat([gate, up]), atol=0, rtol=0)


def test_cpu_fp32_linears_are_column_sharded_without_changing_values(tmp_path: Path) -> None:
    sd = hf_state_dict(seed=2)
    m = load_model(write_hf_folder(tmp_path / "hf", sd), device="cpu").model
    wo = m.layers[0].attention.wo
    assert isinstance(wo, ColumnShardedLinear) and wo.shards.shape[0] == torch.get_num_threads()
    assert np.array_equal(wo.weight.numpy(), sd["model.layers.0.self_attn.o_proj.weight"].numpy())


@pytest.mark.parametrize("shape", [(1, 1, 64), (1, 7, 64), (3, 5, 64)], ids=str)
@pytest.mark.parametrize("n_shards,batch_shards", [(1, None), (2, None), (4, None), (2, 12)])
def test_column_sharded_linear_equals_nn_linear(shape, n_shards, batch_shards) -> None:
    g = torch.Generator().manual_seed(0)
    dense = torch.nn.Linear(64, 96, bias=False)
    dense.weight.data = torch.randn(96, 64, generator=g)
    x = torch.randn(*shape, generator=g)
    sharded = ColumnShardedLinear(dense.weight, n_shards, batch_shards)
    torch.testing.assert_close(sharded(x), dense(x), atol=1e-5, rtol=1e-5)
