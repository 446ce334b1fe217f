"""`--sample N --stratify KEY --seed S`: the same ids on every call, slices in proportion, and compare
refusing to pair runs on different subsets."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from evals.golden.dataset import load_golden_set
from evals.golden.subset import Subset, quotas
from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply

SLICE_SIZES = {"billing": 290, "shipping": 130, "returns": 50, "fraud": 23, "legal": 7}  # a long tail


def uneven_rows() -> list[dict]:
    rows = [{"id": f"{intent}-{i}", "input": f"{intent} question {i}?", "expected": {"answer": "yes"},
             "labels": {"intent": intent}} for intent, n in SLICE_SIZES.items() for i in range(n)]
    random.Random(0).shuffle(rows)
    return rows


def answered(db: Path, run_id: str) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {i for (i,) in con.execute("SELECT example_id FROM results WHERE run_id = ?", [run_id]).fetchall()}


@pytest.fixture
def golden_path(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "golden.jsonl", uneven_rows())


def test_a_stratified_sample_is_the_same_50_ids_every_call_and_keeps_each_slice_within_one(golden_path: Path) -> None:
    golden = load_golden_set(golden_path)
    subset = Subset(sample=50, stratify="intent", seed=7)
    ids = [ex.id for ex in subset.select(golden)]
    assert len(ids) == len(set(ids)) == 50
    assert ids == [ex.id for ex in Subset(sample=50, stratify="intent", seed=7).select(load_golden_set(golden_path))]
    counts = Counter(ex.labels["intent"] for ex in subset.select(golden))
    for intent, size in SLICE_SIZES.items():
        assert abs(counts[intent] - 50 * size / len(golden)) < 1, (intent, counts)
    assert set(ids) != {ex.id for ex in Subset(sample=50, stratify="intent", seed=8).select(golden)}


def test_the_sample_depends_on_the_seed_and_ids_not_on_the_order_of_the_file(golden_path: Path,
                                                                             tmp_path: Path) -> None:
    rows = json.loads("[" + ",".join(golden_path.read_text().splitlines()) + "]")
    reordered = write_jsonl(tmp_path / "reordered.jsonl", sorted(rows, key=lambda r: r["id"]))
    subset = Subset(sample=30, stratify="intent", seed=1)
    assert ({ex.id for ex in subset.select(load_golden_set(golden_path))}
            == {ex.id for ex in subset.select(load_golden_set(reordered))})


def test_quotas_add_up_to_n_and_each_is_its_share_rounded_down_or_up() -> None:
    rng = random.Random(3)
    for _ in range(200):
        sizes = {f"s{i}": rng.randint(1, 500) for i in range(rng.randint(1, 12))}
        n = rng.randint(1, sum(sizes.values()))
        q = quotas(sizes, n)
        assert sum(q.values()) == n
        for k, size in sizes.items():
            assert abs(q[k] - n * size / sum(sizes.values())) < 1 and 0 <= q[k] <= size


def test_a_subset_round_trips_through_a_run_s_settings() -> None:
    for subset in (Subset(), Subset(limit=5), Subset(sample=9, stratify="intent", seed=4), Subset(sample=3)):
        assert Subset.from_settings(json.loads(json.dumps(subset.settings()))) == subset
    assert Subset.from_settings({"suite": {}, "limit": 5}) == Subset(limit=5)  # a run stored before sampling


@pytest.mark.parametrize(("flags", "named", "says"), [
    (["--sample", "900"], "--sample", "has 500"),
    (["--sample", "0"], "--sample", "positive"),
    (["--sample", "5", "--stratify", "colour"], "--stratify", "'colour'"),
    (["--sample", "5", "--limit", "5"], "--sample", "not both"),
    (["--stratify", "intent"], "--stratify", "--sample N"),
    (["--seed", "3"], "--seed", "--sample N"),
])
def test_a_bad_sample_is_refused_naming_the_flag(capsys, golden_path: Path, tmp_path: Path, flags: list[str],
                                                 named: str, says: str) -> None:
    suite = write_suite(tmp_path / "suite.yaml", golden_path, None, engine=None, slices=["intent"],
                        endpoint={"url": "http://127.0.0.1:9/v1", "model": "m"})
    db = tmp_path / "gg.duckdb"
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db), *flags)
    assert_one_line_error(code, err, named, says)
    assert not db.exists() or Store(db).list_runs() == []


def test_a_sampled_run_answers_its_sample_resumes_on_it_and_compares_only_with_the_same_sample(
        capsys, golden_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    sample = ["--sample", "20", "--stratify", "intent", "--seed", "5"]
    with OpenAIStub(lambda body, call: Reply(["yes"])) as server:
        suite = write_suite(tmp_path / "suite.yaml", golden_path, None, engine=None, slices=["intent"],
                            scorers=["exact_match"], endpoint={"url": server.url, "model": "m"})
        for flags in (sample, sample, ["--sample", "20", "--stratify", "intent", "--seed", "6"], []):
            assert run_cli(capsys, "run", str(suite), "--db", str(db), *flags)[0] == 0
    first, again, other_seed, full = [r["run_id"] for r in sorted(Store(db).list_runs(), key=lambda r: r["started_at"])]
    chosen = {ex.id for ex in Subset(sample=20, stratify="intent", seed=5).select(load_golden_set(golden_path))}
    assert answered(db, first) == answered(db, again) == chosen != answered(db, other_seed)
    assert len(answered(db, full)) == sum(SLICE_SIZES.values())
    assert Store(db).run_record(first)["settings"]["sample"] == {"sample": 20, "stratify": "intent", "seed": 5}

    assert run_cli(capsys, "compare", first, again, "--db", str(db))[0] == 0
    for run in (other_seed, full):
        code, _, err = run_cli(capsys, "compare", first, run, "--db", str(db))
        assert_one_line_error(code, err, "different subsets", "a sample of 20 stratified by intent (seed 5)")
