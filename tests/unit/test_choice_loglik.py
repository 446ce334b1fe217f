"""Multiple choice by log-likelihood: acc picks the likeliest choice, acc_norm the likeliest per character;
only the continuation's tokens count; and a suite scored in-process and over `goldgate serve`'s echoed
completions stores the scores a hand computation from the tiny model's own logits gives."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from engine.async_engine import AsyncEngine
from engine.engine import Engine
from evals.golden.dataset import Example, Expected
from evals.run.loglik import loglik
from evals.scorers.choice_loglik import ChoiceLoglik, ChoiceLoglikNorm, Continuation, Loglik, continuations
from tests.cli_helpers import run_cli
from tests.eval_files import write_jsonl, write_suite
from tests.loglik_helpers import by_hand
from tests.serving import app_in_thread
from tests.telemetry_helpers import MemoryTelemetry

QUESTIONS = [("Is fire hot?", ["yes", "no"], "yes"), ("Pick a colour.", ["red", "green", "blue"], "green"),
             ("Two plus two?", ["4", "five"], "4"), ("Sky colour?", ["blue", "plaid"], "blue")]


def test_acc_picks_the_likeliest_and_acc_norm_the_likeliest_per_character() -> None:
    expected = Expected(answer="maybe", choices=("no", "maybe"))
    logliks = (Loglik(-2.0, 1), Loglik(-3.0, 2))  # " no" -0.67 a character, " maybe" -0.5
    assert ChoiceLoglik().score_logliks(logliks, expected).value == 0.0
    assert ChoiceLoglikNorm().score_logliks(logliks, expected).value == 1.0


def test_only_tokens_that_start_inside_the_continuation_count() -> None:
    c = Continuation("Q?\nAnswer:", " yes")  # the continuation is characters 10 to 14
    offsets = [0, 3, 8, 10, 12, 14]  # a token straddling the boundary at 8, the generated one at 14
    assert loglik(c, offsets, [None, -1.0, -2.0, -0.5, -0.25, -9.0]) == Loglik(-0.75, 2)
    with pytest.raises(ValueError, match="no scored tokens"):
        loglik(c, [0, 3], [None, -1.0])


def hand_sums(engine: Engine, example: Example) -> list[float]:
    """Each choice's summed log probability from one plain forward of the tiny model."""
    return [by_hand(engine, c)[0] for c in continuations(example)]


def stored_scores(db: Path) -> dict[tuple[str, str], float]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {(e, s): v for e, s, v in con.execute("SELECT example_id, scorer, value FROM scores").fetchall()}


def test_a_suite_scores_choices_in_process_and_over_an_endpoint_as_the_logits_say(capsys, tmp_path: Path,
                                                                                 tiny_gguf: Path) -> None:
    rows = [{"id": f"mc-{i}", "input": q, "expected": {"answer": a, "choices": cs}, "labels": {"intent": "mc"}}
            for i, (q, cs, a) in enumerate(QUESTIONS)]
    golden = write_jsonl(tmp_path / "mc.jsonl", rows)
    scorers = ["choice_loglik", "choice_loglik_norm", "multiple_choice"]
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=2048)
    want = {}
    for row in rows:
        example = Example.model_validate(row)
        sums = hand_sums(engine, example)
        for scorer in (ChoiceLoglik(), ChoiceLoglikNorm()):
            by = [s / len(f" {c}") if scorer.normalised else s for s, c in zip(sums, example.expected.choices)]
            picked = example.expected.choices[max(range(len(by)), key=by.__getitem__)]
            want[row["id"], scorer.name] = float(picked == example.expected.answer)
    assert len(set(want.values())) == 2  # the tiny model gets some right and some wrong

    in_process = tmp_path / "engine.duckdb"
    suite = write_suite(tmp_path / "engine.yaml", golden, tiny_gguf, scorers=scorers, slices=["intent"])
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(in_process))
    assert code == 0, err
    memory = MemoryTelemetry()
    with app_in_thread(AsyncEngine(engine, max_waiting=64), memory.tel) as url:
        suite = write_suite(tmp_path / "endpoint.yaml", golden, None, scorers=scorers, slices=["intent"],
                            endpoint={"url": f"{url}/v1", "model": engine.model_id})
        over_http = tmp_path / "endpoint.duckdb"
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(over_http))
        assert code == 0, err
    for db in (in_process, over_http):
        got = stored_scores(db)
        assert {k: v for k, v in got.items() if k[1].startswith("choice_loglik")} == want
        assert {s for _, s in got} == set(scorers)  # the answers were generated and scored as well
