"""The shape of a Llama-family decoder, read from GGUF metadata or a Hugging Face config.json."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from engine.errors import ModelFileError, UnsupportedModelError

SUPPORTED_ARCHITECTURES = ("llama",)
HF_ARCHITECTURES = {"LlamaForCausalLM": "llama"}


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    ffn_dim: int
    norm_eps: float = 1e-5
    rope_theta: float = 10_000.0
    max_seq_len: int = 2048
    tie_embeddings: bool = True

    def __post_init__(self) -> None:
        if self.dim % self.n_heads or self.n_heads % self.n_kv_heads:
            raise UnsupportedModelError(
                f"dim {self.dim}, {self.n_heads} heads and {self.n_kv_heads} kv heads do not divide evenly"
            )

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @classmethod
    def tiny(cls, **overrides: Any) -> "ModelConfig":
        """A random-weight preset small enough for unit tests (vocab covers 256 bytes + specials)."""
        return cls(**{**dict(vocab_size=260, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=128,
                             rope_theta=10_000.0, max_seq_len=256, tie_embeddings=True), **overrides})

    @classmethod
    def from_gguf(cls, meta: Mapping[str, Any], *, vocab_size: int, tie_embeddings: bool,
                  source: str) -> "ModelConfig":
        arch = meta.get("general.architecture")
        if arch not in SUPPORTED_ARCHITECTURES:
            raise UnsupportedModelError(
                f"{source}: architecture {arch!r} is not supported (supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
            )

        def need(key: str) -> Any:
            full = f"{arch}.{key}"
            if full not in meta:
                raise ModelFileError(f"{source}: GGUF metadata lacks {full!r}")
            return meta[full]

        n_heads = int(need("attention.head_count"))
        return cls(
            vocab_size=vocab_size,
            dim=int(need("embedding_length")),
            n_layers=int(need("block_count")),
            n_heads=n_heads,
            n_kv_heads=int(meta.get(f"{arch}.attention.head_count_kv", n_heads)),
            ffn_dim=int(need("feed_forward_length")),
            norm_eps=float(need("attention.layer_norm_rms_epsilon")),
            rope_theta=float(meta.get(f"{arch}.rope.freq_base", 10_000.0)),
            max_seq_len=int(need("context_length")),
            tie_embeddings=tie_embeddings,
        )

    @classmethod
    def from_hf(cls, cfg: Mapping[str, Any], *, source: str) -> "ModelConfig":
        archs = cfg.get("architectures") or []
        if not any(a in HF_ARCHITECTURES for a in archs):
            raise UnsupportedModelError(
                f"{source}: architectures {archs} not supported (supported: {', '.join(HF_ARCHITECTURES)})"
            )
        if cfg.get("rope_scaling"):
            raise UnsupportedModelError(f"{source}: rope_scaling {cfg['rope_scaling']!r} is not supported")
        try:
            n_heads = int(cfg["num_attention_heads"])
            return cls(
                vocab_size=int(cfg["vocab_size"]),
                dim=int(cfg["hidden_size"]),
                n_layers=int(cfg["num_hidden_layers"]),
                n_heads=n_heads,
                n_kv_heads=int(cfg.get("num_key_value_heads") or n_heads),
                ffn_dim=int(cfg["intermediate_size"]),
                norm_eps=float(cfg.get("rms_norm_eps", 1e-5)),
                rope_theta=float(cfg.get("rope_theta", 10_000.0)),
                max_seq_len=int(cfg.get("max_position_embeddings", 2048)),
                tie_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            )
        except KeyError as e:
            raise ModelFileError(f"{source}: config.json lacks {e.args[0]!r}") from None
