"""Byte-level BPE built with the `tokenizers` library from a GGUF vocabulary or a tokenizer.json.

The pre-tokenizer follows the file's `tokenizer.ggml.pre` the way llama.cpp reads it: SmolLM's
vocabulary was trained with every digit split on its own before the GPT-2 regex.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers
from tokenizers import Tokenizer as Backend

from engine.chat_template import ChatTemplate
from engine.errors import ModelFileError, UnsupportedModelError
from engine.gguf_file import GGUFModelFile

_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _gpt2() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


def _digits_then_gpt2() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), _gpt2()])


def _llama3() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(_LLAMA3_SPLIT), behavior="isolated"),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


# `tokenizer.ggml.pre` -> pre-tokenizer; names llama.cpp gives the same splitting share an entry.
PRE_TOKENIZERS = {
    "default": _gpt2, "gpt2": _gpt2,
    "smollm": _digits_then_gpt2, "starcoder": _digits_then_gpt2, "refact": _digits_then_gpt2,
    "llama3": _llama3, "llama-v3": _llama3, "llama-bpe": _llama3,
}

CONTROL, USER_DEFINED = 3, 4  # llama.cpp token types


@dataclass
class Tokenizer:
    backend: Backend
    bos_token: str | None
    eos_token: str | None
    eos_ids: frozenset[int]
    add_bos: bool
    chat_template: ChatTemplate | None

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    @cached_property
    def max_token_bytes(self) -> int:
        """The most UTF-8 bytes one token can cover (an over-estimate for byte-level vocabularies): a text
        of N bytes is at least N / max_token_bytes tokens, known before tokenising it."""
        return max(len(token.encode("utf-8")) for token in self.backend.get_vocab(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        ids = self.backend.encode(text, add_special_tokens=False).ids
        if self.add_bos and self.bos_token is not None:
            ids = [self.backend.token_to_id(self.bos_token), *ids]
        return ids

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=True)

    @classmethod
    def from_gguf(cls, f: GGUFModelFile) -> "Tokenizer":
        kind = f.metadata.get("tokenizer.ggml.model")
        if kind != "gpt2":
            raise UnsupportedModelError(f"{f.path}: tokenizer model {kind!r} is not supported (supported: 'gpt2' byte-level BPE)")
        pre = f.metadata.get("tokenizer.ggml.pre", "default")
        if pre not in PRE_TOKENIZERS:
            raise UnsupportedModelError(f"{f.path}: pre-tokenizer {pre!r} is not supported (supported: {', '.join(PRE_TOKENIZERS)})")
        tokens = f.array("tokenizer.ggml.tokens")
        merges = [tuple(m.split(" ", 1)) for m in f.array("tokenizer.ggml.merges")]
        types = f.array("tokenizer.ggml.token_type") if "tokenizer.ggml.token_type" in f.reader.fields else []

        backend = Backend(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, ignore_merges=False))
        backend.pre_tokenizer = PRE_TOKENIZERS[pre]()
        backend.decoder = decoders.ByteLevel()
        backend.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                    for t, ty in zip(tokens, types) if ty == CONTROL])
        backend.add_tokens([AddedToken(t, special=False, normalized=False)
                            for t, ty in zip(tokens, types) if ty == USER_DEFINED])

        def token(key: str) -> str | None:
            i = f.metadata.get(key)
            return tokens[int(i)] if i is not None and 0 <= int(i) < len(tokens) else None

        bos, eos = token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id")
        template = f.metadata.get("tokenizer.chat_template")
        return cls(
            backend=backend, bos_token=bos, eos_token=eos,
            eos_ids=frozenset({int(f.metadata["tokenizer.ggml.eos_token_id"])} if eos else set()),
            add_bos=bool(f.metadata.get("tokenizer.ggml.add_bos_token", False)),
            chat_template=ChatTemplate(template, {"bos_token": bos or "", "eos_token": eos or ""}) if template else None,
        )

    @classmethod
    def from_hf_folder(cls, folder: Path) -> "Tokenizer":
        path = folder / "tokenizer.json"
        if not path.is_file():
            raise ModelFileError(f"{folder}: tokenizer.json not found")
        try:
            backend = Backend.from_file(str(path))
            cfg = _read_json(folder / "tokenizer_config.json")
            gen = _read_json(folder / "generation_config.json")
        except (ValueError, json.JSONDecodeError) as e:
            raise ModelFileError(f"{folder}: unreadable tokenizer files ({e})") from None

        def special(name: str) -> str | None:
            v = cfg.get(name)
            return v.get("content") if isinstance(v, dict) else v

        bos, eos = special("bos_token"), special("eos_token")
        gen_eos = gen.get("eos_token_id", [])
        eos_ids = set(gen_eos if isinstance(gen_eos, list) else [gen_eos])
        if eos is not None and backend.token_to_id(eos) is not None:
            eos_ids.add(backend.token_to_id(eos))
        template = cfg.get("chat_template")
        return cls(
            backend=backend, bos_token=bos, eos_token=eos, eos_ids=frozenset(eos_ids),
            add_bos=bool(cfg.get("add_bos_token", False)),
            chat_template=ChatTemplate(template, {"bos_token": bos or "", "eos_token": eos or ""})
            if isinstance(template, str) else None,
        )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
