"""Weight loading as declarative name maps: GGUF and safetensors produce the same state dict.

Each map says, for every parameter of `engine.model.Transformer`, which source tensors are
concatenated (along the output axis) to make it. Transforms are explicit and named; every key
and every shape is checked before anything is copied into the model.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import torch

from engine.config import ModelConfig
from engine.errors import ModelFileError, UnsupportedModelError

GGUF_GLOBAL = {
    "tok_embeddings.weight": ["token_embd.weight"],
    "norm.weight": ["output_norm.weight"],
    "output.weight": ["output.weight"],
}
GGUF_LAYER = {
    "attention_norm.weight": ["blk.{i}.attn_norm.weight"],
    "attention.wqkv.weight": ["blk.{i}.attn_q.weight", "blk.{i}.attn_k.weight", "blk.{i}.attn_v.weight"],
    "attention.wo.weight": ["blk.{i}.attn_output.weight"],
    "ffn_norm.weight": ["blk.{i}.ffn_norm.weight"],
    "feed_forward.w13.weight": ["blk.{i}.ffn_gate.weight", "blk.{i}.ffn_up.weight"],
    "feed_forward.w2.weight": ["blk.{i}.ffn_down.weight"],
}

HF_GLOBAL = {
    "tok_embeddings.weight": ["model.embed_tokens.weight"],
    "norm.weight": ["model.norm.weight"],
    "output.weight": ["lm_head.weight"],
}
HF_LAYER = {
    "attention_norm.weight": ["model.layers.{i}.input_layernorm.weight"],
    "attention.wqkv.weight": ["model.layers.{i}.self_attn.q_proj.weight", "model.layers.{i}.self_attn.k_proj.weight",
                              "model.layers.{i}.self_attn.v_proj.weight"],
    "attention.wo.weight": ["model.layers.{i}.self_attn.o_proj.weight"],
    "ffn_norm.weight": ["model.layers.{i}.post_attention_layernorm.weight"],
    "feed_forward.w13.weight": ["model.layers.{i}.mlp.gate_proj.weight", "model.layers.{i}.mlp.up_proj.weight"],
    "feed_forward.w2.weight": ["model.layers.{i}.mlp.down_proj.weight"],
}


def unpermute_rope(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (it interleaves each head's two rotary halves).

    llama.cpp rotates adjacent pairs; Hugging Face and this model rotate the two halves of a head.
    """
    rows = w.shape[0]
    # GGUF rows of a head are (pair, 2) interleaved; Hugging Face's are (2, half) stacked.
    return w.reshape(n_heads, rows // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_transforms(cfg: ModelConfig) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Source-name suffix -> transform applied to that tensor as it is read."""
    return {
        ".attn_q.weight": lambda w: unpermute_rope(w, cfg.n_heads),
        ".attn_k.weight": lambda w: unpermute_rope(w, cfg.n_kv_heads),
    }


def build_state_dict(
    cfg: ModelConfig,
    expected: Mapping[str, torch.Size],
    available: set[str],
    read: Callable[[str], np.ndarray],
    global_map: Mapping[str, list[str]],
    layer_map: Mapping[str, list[str]],
    *,
    source: str,
    transforms: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> dict[str, torch.Tensor]:
    """Map source tensors onto the model's parameters, checking names and shapes first."""
    plan = {k: v for k, v in global_map.items() if not (cfg.tie_embeddings and k == "output.weight")}
    for i in range(cfg.n_layers):
        plan.update({f"layers.{i}.{k}": [s.format(i=i) for s in v] for k, v in layer_map.items()})

    missing = sorted({s for sources in plan.values() for s in sources} - available)
    if missing:
        raise ModelFileError(f"{source}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    unused = sorted(available - {s for sources in plan.values() for s in sources})
    if unused:
        raise UnsupportedModelError(f"{source}: tensors this architecture does not use: {unused[:5]}")
    if set(plan) != set(expected):
        raise UnsupportedModelError(f"{source}: parameters not covered: {sorted(set(expected) - set(plan))}")

    transforms = transforms or {}
    state = {}
    for target, sources in plan.items():
        parts = []
        for name in sources:
            w = read(name)
            fn = next((f for suffix, f in transforms.items() if name.endswith(suffix)), None)
            parts.append(fn(w) if fn else w)
        tensor = torch.from_numpy(np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0])
        if tensor.shape != expected[target]:
            raise ModelFileError(
                f"{source}: {target} from {sources} has shape {tuple(tensor.shape)}, expected {tuple(expected[target])}"
            )
        state[target] = tensor
    return state
