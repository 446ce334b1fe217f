"""Load a model (GGUF file or Hugging Face safetensors folder) onto a device, ready to generate."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from engine.config import ModelConfig
from engine.cpu_layout import shard_linears_for_cpu
from engine.decode_layer import fuse_decode_layers
from engine.devices import auto_device, auto_dtype
from engine.errors import InvalidRequestError, ModelFileError
from engine.gguf_file import open_gguf
from engine.kernels import PackedKernels, packed_kernels
from engine.model import Transformer
from engine.model_store import DEFAULT_HOME, sha256_file
from engine.packed import BITS, PackReport, pack_linears
from engine.tokenizer import Tokenizer
from engine.weights import GGUF_GLOBAL, GGUF_LAYER, HF_GLOBAL, HF_LAYER, build_state_dict, gguf_transforms


@dataclass
class LoadedModel:
    model: Transformer
    tokenizer: Tokenizer
    config: ModelConfig
    model_id: str
    weights_sha256: str  # of the file; with "+int4" or "+int8" when a matrix was requantised (other answers)
    device: torch.device
    dtype: torch.dtype
    packing: PackReport | None = None  # on the CPU in float32: which matrices run packed (engine.packed)
    kernels: PackedKernels | None = None  # the CPU kernels, where they were built (float32 on the CPU)


def load_model(path: Path, *, device: torch.device | str | None = None, dtype: torch.dtype | None = None,
               quantize: str | None = None, packed: bool = True, kernel_cache: Path | None = None) -> LoadedModel:
    """`quantize`: None, "int8" or "int4" (engine.packed: CPU, float32 arithmetic on requantised weights).
    `packed`: on the CPU in float32, hold the matrices that are already 4- or 8-bit grids packed (the same
    numbers, a fifth of the bytes); False keeps every matrix dense. `kernel_cache`: where the packed
    kernels are compiled (default ~/.cache/goldgate/kernels)."""
    path = Path(path)
    device = torch.device(device) if device is not None else auto_device()
    dtype = dtype or auto_dtype(device)
    if quantize is not None and (device.type != "cpu" or dtype != torch.float32 or quantize not in BITS):
        raise InvalidRequestError.for_field("dtype", f"{quantize} runs on the CPU (its float32 around it) only")
    if path.is_dir():
        cfg, tokenizer, state, digest = _read_hf_folder(path)
    elif path.is_file():
        cfg, tokenizer, state, digest = _read_gguf(path)
    else:
        raise ModelFileError(f"{path}: model file not found")

    with torch.device("meta"):
        model = Transformer(cfg)
    if cfg.tie_embeddings:
        state["output.weight"] = state["tok_embeddings.weight"]
    model.load_state_dict(state, strict=True, assign=True)
    if cfg.tie_embeddings:  # assign=True replaced both parameters; share them again
        model.output.weight = model.tok_embeddings.weight
    model = model.to(device=device, dtype=dtype).eval().requires_grad_(False)
    packing = kernels = None
    if device.type == "cpu" and dtype == torch.float32:
        kernels = packed_kernels(kernel_cache or DEFAULT_HOME / "kernels")
        if kernels is None and quantize is not None:
            raise InvalidRequestError.for_field("dtype", f"{quantize} needs the packed kernels, which could not be "
                                                         "built here (a C++ compiler, g++, is required)")
        if kernels is not None and (packed or quantize):
            packing = pack_linears(model, kernels, quantize)
            fuse_decode_layers(model, kernels)
        shard_linears_for_cpu(model)  # whatever stayed dense
    suffix = f"+{quantize}" if packing is not None and packing.requantised else ""
    return LoadedModel(model=model, tokenizer=tokenizer, config=cfg, model_id=path.stem if path.is_file() else path.name,
                       weights_sha256=digest + suffix, device=device, dtype=dtype, packing=packing,
                       kernels=kernels)


def _expected_shapes(cfg: ModelConfig) -> dict[str, torch.Size]:
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in Transformer(cfg).state_dict().items()}
    if cfg.tie_embeddings:
        shapes.pop("output.weight")
    return shapes


def _read_gguf(path: Path):
    f = open_gguf(path)
    names = set(f.tensor_names)
    vocab_size = f.shape("token_embd.weight")[0]
    cfg = ModelConfig.from_gguf(f.metadata, vocab_size=vocab_size, tie_embeddings="output.weight" not in names,
                                source=str(path))
    tokenizer = Tokenizer.from_gguf(f)
    state = build_state_dict(cfg, _expected_shapes(cfg), names, f.tensor, GGUF_GLOBAL, GGUF_LAYER,
                             source=str(path), transforms=gguf_transforms(cfg))
    return cfg, tokenizer, state, sha256_file(path)


def _read_hf_folder(folder: Path):
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise ModelFileError(f"{folder}: config.json not found")
    try:
        raw = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{cfg_path}: invalid JSON at line {e.lineno} ({e.msg})") from None
    cfg = ModelConfig.from_hf(raw, source=str(cfg_path))
    tokenizer = Tokenizer.from_hf_folder(folder)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ModelFileError(f"{folder}: no .safetensors files")
    handles, where = [], {}
    try:
        for file in files:
            h = safe_open(file, framework="pt")
            handles.append(h)
            where.update({k: h for k in h.keys()})
    except SafetensorError as e:
        raise ModelFileError(f"{file}: not a valid safetensors file ({e})") from None
    names = set(where) - ({"lm_head.weight"} if cfg.tie_embeddings else set())

    def read(name: str):
        return where[name].get_tensor(name).float().numpy()

    state = build_state_dict(cfg, _expected_shapes(cfg), names, read, HF_GLOBAL, HF_LAYER, source=str(folder))
    digest = hashlib.sha256()
    for file in files:
        digest.update(bytes.fromhex(sha256_file(file)))
    return cfg, tokenizer, state, digest.hexdigest()
