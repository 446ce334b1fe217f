"""Costs: a price table's arithmetic, its file's errors, a run against an endpoint that reports what each
correct answer cost with a bootstrap CI, and the gate's cost guard rail."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml

from evals.store.store import Store
from telemetry.prices import Price
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply
from tests.synthetic_runs import golden_set, write_run


def test_token_prices_cached_input_and_an_hourly_price() -> None:
    price = Price(input=1.0, output=2.0, cached_input=0.5)
    assert price.cost(1000, 500, cached_tokens=200) == pytest.approx((800 * 1.0 + 200 * 0.5 + 500 * 2.0) / 1e6)
    assert Price(input=3.0).cost(1000, 0, cached_tokens=400) == pytest.approx(3000 / 1e6)  # cached: the input price
    assert Price(per_hour=36.0).cost(10, 10, engine_s=100) == pytest.approx(1.0)


@pytest.mark.parametrize(("table", "needle", "line"), [
    ({"version": "v", "models": {"m": {"input": 1, "per_hour": 2}}}, "not both", 4),
    ({"version": "v", "models": {"m": {"input": -1}}}, "models.m.input", 4),
    ({"version": "v", "currency": "dollars", "models": {}}, "currency", 2),
    ({"models": {}}, "version", 1),
])
def test_a_bad_price_table_is_a_one_line_error_naming_the_line(capsys, tmp_path: Path, table, needle, line) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump(table, sort_keys=False))
    golden = write_jsonl(tmp_path / "golden.jsonl", [{"id": "q", "input": "x", "expected": {"answer": "y"}}])
    suite = write_suite(tmp_path / "suite.yaml", golden, None, engine=None, slices=None,
                        endpoint={"url": "http://127.0.0.1:9/v1", "model": "m"})
    code, _, err = run_cli(capsys, "run", str(suite), "--prices", str(prices), "--db", str(tmp_path / "gg.duckdb"))
    assert_one_line_error(code, err, f"{prices}:{line}", needle)


def _questions(tmp_path: Path, n: int) -> Path:
    return write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i:02d}", "input": f"question {i}", "expected": {"answer": "Paris"}} for i in range(n)])


def test_a_model_the_table_does_not_price_is_refused_before_any_call(capsys, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump({"version": "v", "models": {"other": {"input": 1.0}}}))
    with OpenAIStub(lambda body, call: Reply(["Paris"])) as server:
        suite = write_suite(tmp_path / "suite.yaml", _questions(tmp_path, 2), None, engine=None, slices=None,
                            scorers=["exact_match"], endpoint={"url": server.url, "model": "remote-model"})
        code, _, err = run_cli(capsys, "run", str(suite), "--prices", str(prices), "--db", str(tmp_path / "gg.duckdb"))
        assert_one_line_error(code, err, str(prices), "'remote-model'", "other")
        assert server.bodies == []


def test_a_priced_run_reports_cost_per_correct_answer_with_a_ci(capsys, tmp_path: Path) -> None:
    """The stub bills 7 prompt tokens and a token per word; at 1 per input and 2 per output token, an answer
    of one word costs 9, of three words 13. 14 of 20 questions are answered right (in one word)."""
    right = {f"question {i}" for i in range(20) if i % 10 < 7}
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump({"version": "2026-12", "currency": "EUR",
                                      "models": {"remote-model": {"input": 1e6, "output": 2e6}}}))
    db = tmp_path / "gg.duckdb"

    def reply(body: dict, call: int) -> Reply:
        return Reply(["Paris"] if body["messages"][-1]["content"] in right else ["Lyon", " or", " Nice"])

    with OpenAIStub(reply) as server:
        suite = write_suite(tmp_path / "suite.yaml", _questions(tmp_path, 20), None, engine=None, slices=None,
                            scorers=["exact_match"], holdout=0.0, endpoint={"url": server.url, "model": "remote-model"})
        code, out, _ = run_cli(capsys, "run", str(suite), "--prices", str(prices), "--db", str(db),
                               "--json", str(tmp_path / "summary.json"))
    assert code == 0
    cost = json.loads((tmp_path / "summary.json").read_text())["cost"]
    costs = np.array([9.0 if f"question {i}" in right else 13.0 for i in range(20)])
    assert (cost["currency"], cost["prices_version"]) == ("EUR", "2026-12")
    assert cost["answers"] == pytest.approx(costs.sum()) and cost["per_example"] == pytest.approx(costs.mean())
    (per_correct,) = cost["per_correct"]
    assert per_correct["scorer"] == "exact_match" and per_correct["n_correct"] == 14
    assert per_correct["estimate"] == pytest.approx(costs.sum() / 14)
    assert per_correct["low"] < per_correct["estimate"] < per_correct["high"]
    assert "per correct answer (exact_match)" in " ".join(out.split())  # rich wraps the line
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT sum(cost) FROM results").fetchone()[0]
        spans = con.execute("SELECT sum(cost), count(*) FROM spans WHERE kind = 'CLIENT'").fetchone()
        prompt_shas = con.execute("SELECT DISTINCT attributes->>'goldgate.prompt.sha256' FROM spans "
                                  "WHERE kind = 'CLIENT'").fetchall()
    assert stored == pytest.approx(costs.sum()) and spans == (pytest.approx(costs.sum()), 20)
    run_id = Store(db).list_runs()[0]["run_id"]
    assert prompt_shas == [(Store(db).run_record(run_id)["prompt_sha256"],)]


def test_a_candidate_that_costs_twice_as_much_fails_the_cost_guard_rail(capsys, tmp_path: Path) -> None:
    golden = golden_set(tmp_path, 200, 2)
    outcomes = {ex.id: float(i % 4 != 0) for i, ex in enumerate(golden.examples)}
    store = Store(tmp_path / "gg.duckdb")
    write_run(store, golden, "a", outcomes, cost=0.01)
    write_run(store, golden, "b", outcomes, cost=0.02)
    write_run(store, golden, "unpriced", outcomes)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"guard_rails": {"cost_per_example": {"max_ratio": 1.5}}}))
    gate = ("gate", "--policy", str(policy), "--db", str(store.path), "--baseline", "a", "--candidate")
    code, report, _ = run_cli(capsys, *gate, "b")
    assert code == 1
    failing = report.split("### Metrics")[0]
    assert "guard rail cost_per_example" in failing and "2.00x the baseline (limit 1.50x)" in failing
    assert run_cli(capsys, *gate, "a")[0] == 0
    assert_one_line_error(*run_cli(capsys, *gate, "unpriced")[::2], "guard_rails.cost_per_example", "--prices")


def test_an_hourly_price_bills_each_generation_its_share_of_engine_time(tiny_gguf: Path) -> None:
    """Four requests decoded together: each generation span costs the hourly price times its share of step
    time, and the shares add up to no more than the engine's busy time."""
    from engine import GenerationRequest, SamplingParams
    from engine.engine import Engine
    from telemetry.prices import PriceTable
    from tests.telemetry_helpers import MemoryTelemetry

    table = PriceTable(version="v", models={tiny_gguf.stem: {"per_hour": 3600.0}})  # 1 per engine second
    memory = MemoryTelemetry(prices=table)
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, telemetry=memory.tel)
    started = time.perf_counter()
    results = engine.generate([GenerationRequest(prompt=f"p{i}", params=SamplingParams(max_tokens=8 + 4 * i))
                               for i in range(4)])
    elapsed = time.perf_counter() - started
    spans = memory.finished("text_completion", wait_for=4)
    shares = [r.timings.engine_s for r in results]
    assert all(s > 0 for s in shares) and sum(shares) <= elapsed
    assert sorted(s.attributes["goldgate.usage.cost"] for s in spans) == pytest.approx(sorted(shares))
    (point,) = memory.metric_points("goldgate.usage.cost")
    assert point.value == pytest.approx(sum(shares)) and point.attributes["goldgate.usage.currency"] == "USD"
