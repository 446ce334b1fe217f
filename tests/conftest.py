"""Shared fixtures: tiny models written as real files, and the real default model with its reference."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine import model_store
from engine.engine import Engine
from evals.settings import Settings
from tests.tiny_models import write_gguf

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=[CUDA, pytest.mark.cuda])]


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf")


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    """The real SmolLM2-135M-Instruct GGUF (`make` fetches it into the cache first)."""
    return model_store.pull(home=Settings.from_env().home)


@pytest.fixture(scope="session", params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def real_engine(default_model_path: Path, device: str) -> Engine:
    """The real model in fp32 on each device: parity with transformers is defined at fp32."""
    return Engine.load(default_model_path, device=device, dtype=torch.float32)


@pytest.fixture(scope="session")
def hf_reference(default_model_path: Path, device: str):
    """transformers loading the same GGUF: the reference for logits, greedy tokens and the chat template."""
    import transformers
    folder, name = str(default_model_path.parent), default_model_path.name
    tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    return tok, model.to(device).eval()
