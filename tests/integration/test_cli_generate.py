"""The README's main job: `goldgate generate` on the real default model, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

GOLDGATE = str(Path(sys.executable).with_name("goldgate"))


def goldgate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([GOLDGATE, *args], capture_output=True, text=True, timeout=300)


def test_capital_of_france_is_paris(default_model_path) -> None:
    done = goldgate("generate", "What is the capital of France?", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout


def test_streaming_prints_the_same_answer_as_a_whole(default_model_path) -> None:
    whole = goldgate("generate", "Name a primary colour.", "--max-tokens", "24", "--device", "cpu")
    streamed = goldgate("generate", "Name a primary colour.", "--max-tokens", "24", "--stream", "-v", "--device", "cpu")
    assert whole.returncode == streamed.returncode == 0
    assert streamed.stdout == whole.stdout and whole.stdout.strip()
    assert "completion tokens" in streamed.stderr


def test_models_list_shows_the_verified_default(default_model_path) -> None:
    done = goldgate("models", "list")
    assert done.returncode == 0 and "smollm2-135m-instruct" in done.stdout and "yes" in done.stdout
