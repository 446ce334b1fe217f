"""Open a GGUF file with the `gguf` package and turn every failure into a message naming the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType
from gguf.quants import dequantize

from engine.errors import ModelFileError, UnsupportedModelError

SUPPORTED_TENSOR_TYPES = frozenset({
    GGMLQuantizationType.F32, GGMLQuantizationType.F16, GGMLQuantizationType.BF16,
    GGMLQuantizationType.Q8_0, GGMLQuantizationType.Q4_0, GGMLQuantizationType.Q4_1,
})

# Large arrays whose contents are read only on demand (the vocabulary): reading them is most of
# the metadata cost, and only the tokenizer needs them.
_ARRAY_KEYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type")


@dataclass
class GGUFModelFile:
    path: Path
    metadata: dict[str, Any]
    reader: GGUFReader

    @property
    def tensor_names(self) -> list[str]:
        return [t.name for t in self.reader.tensors]

    def _find(self, name: str):
        t = next((t for t in self.reader.tensors if t.name == name), None)
        if t is None:
            raise ModelFileError(f"{self.path}: tensor {name!r} is missing")
        return t

    def shape(self, name: str) -> tuple[int, ...]:
        """PyTorch's [out, in] order; GGUF lists dims innermost first."""
        return tuple(int(d) for d in reversed(self._find(name).shape.tolist()))

    def tensor(self, name: str) -> np.ndarray:
        """The tensor dequantised to float32, in PyTorch's [out, in] order."""
        t = self._find(name)
        if t.tensor_type not in SUPPORTED_TENSOR_TYPES:
            supported = ", ".join(sorted(q.name for q in SUPPORTED_TENSOR_TYPES))
            raise UnsupportedModelError(
                f"{self.path}: tensor {name!r} has type {t.tensor_type.name}, not supported (supported: {supported})"
            )
        try:
            values = dequantize(t.data, t.tensor_type)
            return np.array(values, dtype=np.float32).reshape(self.shape(name))  # a writable copy
        except (ValueError, IndexError) as e:
            raise ModelFileError(f"{self.path}: tensor {name!r} is corrupt or truncated ({e})") from None

    def array(self, key: str) -> list[Any]:
        field = self.reader.fields.get(key)
        if field is None:
            raise ModelFileError(f"{self.path}: GGUF metadata lacks {key!r}")
        return field.contents()


def open_gguf(path: Path) -> GGUFModelFile:
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    try:
        reader = GGUFReader(path, "r")
    except Exception as e:  # the reader raises ValueError, IndexError, struct errors... on bad bytes
        raise ModelFileError(f"{path}: not a valid GGUF file ({type(e).__name__}: {e})") from None
    size = path.stat().st_size
    for t in reader.tensors:
        if t.data_offset + t.n_bytes > size or t.data.nbytes != t.n_bytes:
            raise ModelFileError(f"{path}: truncated (tensor {t.name!r} runs past the end of the file)")
    metadata = {}
    for key, field in reader.fields.items():
        if key in _ARRAY_KEYS:
            continue
        if field.types and field.types[0] == GGUFValueType.ARRAY and len(field.data) > 64:
            continue
        metadata[key] = field.contents()
    return GGUFModelFile(path=path, metadata=metadata, reader=reader)
