"""The one place a device or dtype name (`engine.placement`) becomes a torch device or dtype, and "auto"
becomes the machine's best: CUDA with bfloat16 when there is a GPU, else the CPU with float32."""

from __future__ import annotations

import torch

from engine.errors import InvalidRequestError
from engine.placement import DEVICES, DTYPES, QUANTIZED


def auto_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def auto_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def resolve(device: str = "auto", dtype: str = "auto") -> tuple[torch.device, torch.dtype, str | None]:
    """Names to torch objects, and the weight quantization a quantized dtype names (else None); an unknown
    name, a missing GPU or a quantization on the GPU names the setting at fault."""
    for field, value, known in (("device", device, DEVICES), ("dtype", dtype, DTYPES)):
        if value not in known:
            raise InvalidRequestError.for_field(field, f"one of {', '.join(known)}; got {value!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidRequestError.for_field("device", "cuda was asked for but no CUDA device is available")
    resolved = auto_device() if device == "auto" else torch.device(device)
    if dtype in QUANTIZED:
        if resolved.type != "cpu":
            raise InvalidRequestError.for_field("dtype", f"{dtype} runs on the CPU only; give --device cpu")
        return resolved, torch.float32, dtype
    return resolved, auto_dtype(resolved) if dtype == "auto" else getattr(torch, dtype), None
