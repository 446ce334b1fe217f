"""Corpus perplexity: exp(total negative log-likelihood / total tokens) with a bootstrap CI over examples,
and `goldgate perplexity` on a tiny model equal to a hand computation from its logits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from engine.engine import Engine
from evals.scorers.choice_loglik import Continuation
from evals.stats.perplexity import corpus_perplexity
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import write_jsonl
from tests.loglik_helpers import by_hand

ANSWERS = [("Capital of France?", "Paris"), ("Two plus two?", "four, of course"), ("Colour of grass?", "green"),
           ("Opposite of hot?", "cold"), ("A long answer?", "it goes on for a while, this one")]
# the last is 65 byte tokens with its question: over the tiny model's context of 64


def test_corpus_perplexity_weighs_every_token_alike() -> None:
    logprobs, tokens = [-2.0, -12.0, -1.0], [1, 6, 1]
    result = corpus_perplexity(logprobs, tokens)
    assert result.estimate == pytest.approx(math.exp(15 / 8))  # not the mean of e^2, e^2 and e^1
    assert result.low <= result.estimate <= result.high and result.n == 3
    with pytest.raises(ValueError, match="one value per example"):
        corpus_perplexity([-1.0], [1, 2])
    with pytest.raises(ValueError, match="at least one token"):
        corpus_perplexity([-1.0, -2.0], [0, 2])


def test_the_cli_reports_the_models_own_perplexity(capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    rows = [{"id": f"r{i}", "input": q, "expected": {"answer": a}} for i, (q, a) in enumerate(ANSWERS)]
    rows.append({"id": "no-answer", "input": "Refuse this.", "expected": {"should_refuse": True}})
    golden = write_jsonl(tmp_path / "refs.jsonl", rows)
    code, out, err = run_cli(capsys, "perplexity", "--dataset", str(golden), "--model", str(tiny_gguf),
                             "--device", "cpu", "--json", str(tmp_path / "ppl.json"))
    assert code == 0, err
    engine = Engine.load(tiny_gguf, device="cpu", kv_cache_tokens=1024)
    sums = [by_hand(engine, Continuation(f"Question: {q}\nAnswer:", f" {a}")) for q, a in ANSWERS[:-1]]
    figures = json.loads((tmp_path / "ppl.json").read_text())
    assert figures["examples"] == 4 and figures["skipped"] == 1 and "1 longer than the context window" in out
    assert figures["tokens"] == sum(n for _, n in sums)
    assert figures["perplexity"] == pytest.approx(math.exp(-sum(s for s, _ in sums) / figures["tokens"]), rel=1e-4)
    assert figures["low"] <= figures["perplexity"] <= figures["high"] and f"{figures['perplexity']:.3f}" in out


def test_a_set_without_answers_is_exit_2(capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    golden = write_jsonl(tmp_path / "none.jsonl", [{"id": "a", "input": "x", "expected": {"should_refuse": True}}])
    code, _, err = run_cli(capsys, "perplexity", "--dataset", str(golden), "--model", str(tiny_gguf))
    assert_one_line_error(code, err, "none.jsonl", "no example has an expected answer")
