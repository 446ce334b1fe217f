"""The engine configurations the engine benchmarks compare, and the transformers dtype beside each.

float32 holds the file's 4- and 8-bit grids packed (engine.packed), float32-dense the dequantised matrices
(the layout before packing), int8 and int4 requantise what is not a grid already. transformers dequantises the
GGUF and runs in float32 beside all of them, in bfloat16 beside bfloat16.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.engine import Engine
from engine.loader import load_model

CHOICES = {"float32": (torch.float32, None, True), "float32-dense": (torch.float32, None, False),
           "int8": (torch.float32, "int8", True), "int4": (torch.float32, "int4", True),
           "bfloat16": (torch.bfloat16, None, False)}  # name: (dtype, quantize, packed)


def anchor_dtype(choice: str) -> torch.dtype:
    return torch.bfloat16 if choice == "bfloat16" else torch.float32


def load_choice(path: Path, choice: str, *, device: str = "cpu", max_batch_size: int = 32) -> Engine:
    dtype, quantize, packed = CHOICES[choice]
    return Engine(load_model(path, device=device, dtype=dtype, quantize=quantize, packed=packed),
                  max_batch_size=max_batch_size)
