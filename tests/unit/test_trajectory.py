"""Trajectory scorers on hand-written cases, and a suite with tools run in-process and over `goldgate
serve`: the calls a forced tool choice makes come back as `<tool_call>` blocks in the stored answers
either way, and the trajectory scorers grade them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from engine.async_engine import AsyncEngine
from engine.engine import Engine
from engine.tool_calls import Call, block, read_calls
from evals.golden.dataset import Expected
from evals.scorers.trajectory import ToolCallArguments, ToolCallsAnyOrder, ToolCallsExact, ToolCallsInOrder
from tests.cli_helpers import run_cli
from tests.eval_files import write_jsonl, write_suite
from tests.serving import app_in_thread
from tests.telemetry_helpers import MemoryTelemetry
from tests.tiny_models import write_gguf

SEARCH, BOOK, PAY = Call("search", {"q": "rome"}), Call("book", {"id": 7, "seats": 2}), Call("pay", {"eur": 90})


def answer(*calls: Call) -> str:
    return "Let me do that.\n" + "\n".join(block(c) for c in calls)


def expected(*calls: dict) -> Expected:
    return Expected(tool_calls=calls)


WANT = expected({"name": "search", "arguments": {"q": "rome"}}, {"name": "book", "arguments": {"id": 7, "seats": 2}})
CASES = [  # made, then exact / in order / any order / share of arguments right
    ((SEARCH, BOOK), (1, 1, 1, 1.0)),
    ((SEARCH, PAY, BOOK), (0, 1, 1, 1.0)),  # an extra call between
    ((BOOK, SEARCH), (0, 0, 1, 1.0)),  # the right calls, the wrong order
    ((SEARCH, Call("book", {"id": 7, "seats": 3})), (0, 0, 0, 2 / 3)),  # one argument wrong
    ((SEARCH,), (0, 0, 0, 1 / 3)),
    ((), (0, 0, 0, 0.0)),
]


@pytest.mark.parametrize("made, want", CASES)
def test_trajectory_scorers_on_hand_cases(made, want) -> None:
    output = answer(*made)
    got = tuple(s(output, WANT).value for s in (ToolCallsExact(), ToolCallsInOrder(), ToolCallsAnyOrder(),
                                                ToolCallArguments()))
    assert got == pytest.approx(want)


def test_an_expected_call_without_arguments_takes_any_and_exact_ones_are_matched_first() -> None:
    want = expected({"name": "search"}, {"name": "search", "arguments": {"q": "rome"}})
    made = answer(SEARCH, Call("search", {"q": "paris"}))
    assert ToolCallsAnyOrder()(made, want).value == 1.0  # a greedy wildcard would take the rome call first
    assert ToolCallsInOrder()(made, want).value == 0.0  # in order: the rome call must come second
    assert not ToolCallArguments().applies(expected({"name": "search"}))


def test_a_broken_block_is_no_call() -> None:
    broken = 'Sure <tool_call>{"name": "search", "arguments": "q=rome"}</tool_call>'
    assert read_calls(broken)[1] == [] and ToolCallsAnyOrder()(broken, WANT).value == 0.0


LOOKUP = {"type": "object", "additionalProperties": False, "required": ["city"],
          "properties": {"city": {"enum": ["Rome", "Oslo"]}}}


def test_a_suite_with_tools_stores_the_calls_in_process_and_over_an_endpoint(capsys, tmp_path: Path) -> None:
    model = write_gguf(tmp_path / "tiny-2k.gguf", context_length=2048)
    rows = [{"id": f"t-{i}", "input": f"Weather {i}?", "labels": {"intent": "tool"},
             "expected": {"tool_calls": [{"name": "lookup", "arguments": {"city": "Rome"}}]}} for i in range(4)]
    golden = write_jsonl(tmp_path / "tools.jsonl", rows)
    prompt = {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": LOOKUP}}],
              "tool_choice": "lookup"}
    fields = {"scorers": ["tool_calls_exact", "tool_call_arguments"], "slices": ["intent"], "prompt": prompt,
              "sampling": {"temperature": 1.0, "seed": 5, "max_tokens": 80}}
    code, _, err = run_cli(capsys, "run", str(write_suite(tmp_path / "engine.yaml", golden, model, **fields)),
                           "--db", str(tmp_path / "engine.duckdb"))
    assert code == 0, err
    memory = MemoryTelemetry()
    engine = Engine.load(model, device="cpu", max_batch_size=4, kv_cache_tokens=8192)
    with app_in_thread(AsyncEngine(engine, max_waiting=16), memory.tel) as url:
        suite = write_suite(tmp_path / "endpoint.yaml", golden, None, endpoint={"url": f"{url}/v1",
                                                                                 "model": engine.model_id}, **fields)
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "endpoint.duckdb"))
        assert code == 0, err
    stored = {}
    for name in ("engine", "endpoint"):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as con:
            outputs = dict(con.execute("SELECT example_id, output FROM results").fetchall())
            scores = {(e, s): v for e, s, v in con.execute("SELECT example_id, scorer, value FROM scores").fetchall()}
        calls = {e: read_calls(o)[1] for e, o in outputs.items()}
        assert all(len(c) == 1 and c[0].name == "lookup" and c[0].arguments["city"] in ("Rome", "Oslo")
                   for c in calls.values()), outputs
        for e, (call,) in calls.items():
            right = float(call.arguments["city"] == "Rome")
            assert scores[e, "tool_calls_exact"] == scores[e, "tool_call_arguments"] == right
        stored[name] = outputs
    assert stored["engine"] == stored["endpoint"]  # the same seeded decoding either way
