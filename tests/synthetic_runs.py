"""Runs with chosen outcomes, written into a real store through the same record and tables `goldgate run`
uses: for gate tests that need 1,000 examples and a planted regression without generating them."""

from __future__ import annotations

import json
from pathlib import Path

from evals.analysis.report import build_summary
from evals.golden.dataset import GoldenSet, load_golden_set
from evals.golden.subset import Subset
from evals.run.record import run_record
from evals.run.suite import Suite
from evals.store.results import create_run, finish_run
from evals.store.store import Store, now
from telemetry.prices import PriceTable
from tests.eval_files import write_jsonl


def golden_set(folder: Path, n: int, slices: int) -> GoldenSet:
    return load_golden_set(write_jsonl(folder / "golden.jsonl", [
        {"id": f"x{i:04d}", "input": f"question {i}", "expected": {"answer": "yes"},
         "labels": {"intent": f"s{i % slices}"}} for i in range(n)]))


def write_run(store: Store, golden: GoldenSet, run_id: str, outcomes: dict[str, float], *, latency_s: float = 1.0,
              tag: str | None = None, cost: float | None = None) -> str:
    """`cost`: what each answer cost (None: the run was not priced)."""
    suite = Suite(name="synthetic", dataset=golden.path, scorers=[{"name": "exact_match"}], slices=("intent",),
                  holdout=0.0)
    prices = PriceTable(version="synthetic", models={"synthetic": {"input": 1.0}}) if cost is not None else None
    create_run(store, run_record(run_id, suite, golden, len(golden), Subset(), tag=tag, model_id="synthetic",
                                 model_digest="0" * 64, endpoint=None, prices=prices))
    labels = {ex.id: ex for ex in golden.examples}
    with store.write() as con:
        con.executemany("INSERT INTO results VALUES (?, ?, 0, false, ?, ?, 'x', 'stop', 10, 5, ?, 0.1, false, NULL, ?, "
                        "NULL, NULL, NULL, ?)",
                        [(run_id, i, json.dumps(labels[i].labels), labels[i].input_sha256, latency_s, now(), cost)
                         for i in outcomes])
        con.executemany("INSERT INTO scores VALUES (?, ?, 0, 'exact_match', ?, '')",
                        [(run_id, i, v) for i, v in outcomes.items()])
    finish_run(store, run_id, build_summary(store, run_id))
    return run_id
