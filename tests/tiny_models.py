"""Tiny random-weight Llama models written as real files: a GGUF and a Hugging Face safetensors folder.

Both come from the same Hugging Face state dict, so loading either must give the same model; the
GGUF gets llama.cpp's Q/K row permutation, as its converter writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = [("Ġ", "t")]
DIMS = dict(vocab_size=260, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=128, max_position_embeddings=64, rope_theta=10_000.0, rms_norm_eps=1e-5)


def byte_tokens() -> list[str]:
    """The 256 byte-level symbols, in byte order (GPT-2's printable mapping)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def vocabulary() -> list[str]:
    return byte_tokens() + SPECIALS + ["".join(MERGES[0])]  # 260 tokens


def hf_state_dict(seed: int = 0, tie: bool = True) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    d, f, v = DIMS["hidden_size"], DIMS["intermediate_size"], DIMS["vocab_size"]
    kv = d // DIMS["num_attention_heads"] * DIMS["num_key_value_heads"]

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * 0.2

    sd = {"model.embed_tokens.weight": rand(v, d), "model.norm.weight": 1 + rand(d)}
    if not tie:
        sd["lm_head.weight"] = rand(v, d)
    for i in range(DIMS["num_hidden_layers"]):
        p = f"model.layers.{i}."
        sd.update({
            p + "input_layernorm.weight": 1 + rand(d), p + "post_attention_layernorm.weight": 1 + rand(d),
            p + "self_attn.q_proj.weight": rand(d, d), p + "self_attn.k_proj.weight": rand(kv, d),
            p + "self_attn.v_proj.weight": rand(kv, d), p + "self_attn.o_proj.weight": rand(d, d),
            p + "mlp.gate_proj.weight": rand(f, d), p + "mlp.up_proj.weight": rand(f, d),
            p + "mlp.down_proj.weight": rand(d, f),
        })
    return sd


def llama_cpp_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """What llama.cpp's converter does to Q and K rows (written independently of the engine's inverse)."""
    out = np.empty_like(w)
    rows_per_head = w.shape[0] // n_heads
    half = rows_per_head // 2
    for h in range(n_heads):
        block = w[h * rows_per_head:(h + 1) * rows_per_head]
        out[h * rows_per_head:(h + 1) * rows_per_head:2] = block[:half]  # first half -> even rows
        out[h * rows_per_head + 1:(h + 1) * rows_per_head:2] = block[half:]  # second half -> odd rows
    return out


GGUF_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def gguf_name(hf: str) -> str:
    if hf in GGUF_NAMES:
        return GGUF_NAMES[hf]
    _, _, i, *rest = hf.split(".")
    module = ".".join(rest[:-1])
    return f"blk.{i}.{GGUF_NAMES[module]}.weight"


def write_gguf(path: Path, sd: dict[str, torch.Tensor] | None = None, *,
               qtype: GGMLQuantizationType = GGMLQuantizationType.F32, arch: str = "llama",
               raw_override: dict[str, tuple[np.ndarray, GGMLQuantizationType]] | None = None,
               context_length: int = DIMS["max_position_embeddings"], pre: str = "default") -> Path:
    """Write `sd` as a GGUF: norms in F32, matrices in `qtype`; raw_override puts given bytes instead."""
    sd = sd if sd is not None else hf_state_dict()
    w = GGUFWriter(str(path), arch=arch)
    w.add_block_count(DIMS["num_hidden_layers"])
    w.add_context_length(context_length)
    w.add_embedding_length(DIMS["hidden_size"])
    w.add_feed_forward_length(DIMS["intermediate_size"])
    w.add_head_count(DIMS["num_attention_heads"])
    w.add_head_count_kv(DIMS["num_key_value_heads"])
    w.add_rope_freq_base(DIMS["rope_theta"])
    w.add_layer_norm_rms_eps(DIMS["rms_norm_eps"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    tokens = vocabulary()
    w.add_token_list(tokens)
    w.add_token_merges([" ".join(m) for m in MERGES])
    w.add_token_types([3 if t in SPECIALS else 1 for t in tokens])
    w.add_bos_token_id(tokens.index("<|im_start|>"))
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_chat_template(CHATML)
    for hf, tensor in sd.items():
        name = gguf_name(hf)
        a = tensor.float().numpy()
        if ".attn_q." in name:
            a = llama_cpp_permute(a, DIMS["num_attention_heads"])
        elif ".attn_k." in name:
            a = llama_cpp_permute(a, DIMS["num_key_value_heads"])
        if raw_override and name in raw_override:
            data, raw = raw_override[name]
            w.add_tensor(name, data, raw_dtype=raw)
        elif a.ndim == 1 or qtype == GGMLQuantizationType.F32:
            w.add_tensor(name, np.ascontiguousarray(a, dtype=np.float32))
        else:
            w.add_tensor(name, quantize(a, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def tokenizer_json() -> Tokenizer:
    tokens = vocabulary()
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=MERGES))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    return tok


def write_hf_folder(folder: Path, sd: dict[str, torch.Tensor] | None = None, *, tie: bool = True) -> Path:
    """A Hugging Face Llama folder (config.json, model.safetensors, tokenizer files) for `sd`."""
    from safetensors.torch import save_file

    sd = sd if sd is not None else hf_state_dict(tie=tie)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "tie_word_embeddings": tie,
              "hidden_act": "silu", "torch_dtype": "float32", **DIMS}
    (folder / "config.json").write_text(json.dumps(config))
    save_file({k: v.contiguous() for k, v in sd.items()}, str(folder / "model.safetensors"))
    tokenizer_json().save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": CHATML}))
    return folder
