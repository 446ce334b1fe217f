"""The default model with int4 weights (engine.quantized) against itself in float32: the next token agrees
at nearly every position of the parity chats (92.5 to 100% of positions, measured), the log probabilities
within 1.5 nats; and `goldgate generate --dtype int4` runs it from the CLI. docs/BENCHMARKS.md has its
speed and general-v1 through `goldgate compare`."""

from __future__ import annotations

import pytest
import torch

from engine.loader import load_model
from tests.cli_helpers import run_cli
from tests.integration.test_parity_transformers import CHATS

pytestmark = pytest.mark.model


def test_int4_picks_the_float32_token_at_nine_positions_in_ten(default_model_path) -> None:
    plain = load_model(default_model_path, device="cpu", dtype=torch.float32)
    quantized = load_model(default_model_path, device="cpu", dtype=torch.float32, quantize="int4")
    agree = total = 0
    for chat in CHATS:
        ids = plain.tokenizer.encode(plain.tokenizer.chat_template.render(chat))
        with torch.inference_mode():
            a, b = (m.model(torch.tensor([ids]), torch.arange(len(ids))[None])[0].log_softmax(-1)
                    for m in (plain, quantized))
        agree += int((a.argmax(-1) == b.argmax(-1)).sum())
        total += len(ids)
        assert (a - b).abs().max() < 1.5
    assert agree / total >= 0.9, f"{agree} of {total}"


def test_the_cli_generates_with_int4_weights(capsys) -> None:
    code, out, err = run_cli(capsys, "generate", "--dtype", "int4", "--device", "cpu", "--max-tokens", "8",
                             "--temperature", "0", "What is the capital of France?")
    assert code == 0, err
    assert out.strip()
