"""pass@k in a run's report: a suite with 5 epochs and `pass_at_k: [1, 3]` over code examples, answered by a
scripted endpoint that is right on a planned share of each example's epochs; the report's pass@k is the
mean over examples of the unbiased estimator, computed here from the plan."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.stats.power import pass_at_k
from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply

N_EXAMPLES, EPOCHS = 6, 5
RIGHT = {i: i % (EPOCHS + 1) for i in range(N_EXAMPLES)}  # example i is answered right on its first i epochs


def coder(body: dict, call: int) -> Reply:
    i = int(re.search(r"add(\d+)", body["messages"][-1]["content"]).group(1))
    op = "+" if call <= RIGHT[i] else "-"
    return Reply([f"```python\ndef add{i}(a, b):\n    return a {op} b\n```"])


def _golden(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "code.jsonl", [
        {"id": f"c{i}", "input": f"Write add{i}(a, b) returning their sum.",
         "expected": {"tests": f"assert add{i}(2, 3) == 5"}, "labels": {"intent": "code", "difficulty": "easy"}}
        for i in range(N_EXAMPLES)])


def test_pass_at_k_is_the_unbiased_estimator_over_the_epochs(capsys, tmp_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(coder) as server:
        suite = write_suite(tmp_path / "suite.yaml", _golden(tmp_path), None, endpoint={"url": server.url, "model": "stub"},
                            scorers=["code_tests"], epochs=EPOCHS, pass_at_k=[1, 3], holdout=0,
                            sampling={"temperature": 0.7, "max_tokens": 64, "seed": 1})
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db), "--json", str(tmp_path / "s.json"))
    assert code == 0, err
    summary = json.loads((tmp_path / "s.json").read_text())
    overall = {m["metric"]: m for m in summary["metrics"] if m["slice_key"] == "all" and m["split"] == "public"}
    for k in (1, 3):
        want = sum(pass_at_k(EPOCHS, RIGHT[i], k) for i in range(N_EXAMPLES)) / N_EXAMPLES
        assert overall[f"code_tests_pass@{k}"]["estimate"] == pytest.approx(want)
        assert overall[f"code_tests_pass@{k}"]["n"] == N_EXAMPLES
    assert overall["code_tests"]["estimate"] == pytest.approx(sum(RIGHT.values()) / (N_EXAMPLES * EPOCHS))
    assert Store(db).list_runs()[0]["status"] == "completed"


def test_a_k_over_the_epochs_is_refused(capsys, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite.yaml", _golden(tmp_path), None, endpoint={"url": "http://127.0.0.1:9/v1",
                        "model": "m"}, scorers=["code_tests"], epochs=2, pass_at_k=[5])
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "gg.duckdb"))
    assert_one_line_error(code, err, "pass_at_k", "from 1 to epochs (2)")
