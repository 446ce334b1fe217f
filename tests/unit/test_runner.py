"""The runner on the tiny model: every (example, epoch) exactly once, resume, cache, holdout, run record."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from evals.golden.dataset import is_holdout, load_golden_set
from evals.run.engine_backend import EngineBackend
from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import examples, write_jsonl, write_suite

N, EPOCHS = 12, 2


@pytest.fixture
def suite(tmp_path: Path, tiny_gguf: Path) -> Path:
    return write_suite(tmp_path / "suite.yaml", write_jsonl(tmp_path / "golden.jsonl", examples(N)), tiny_gguf,
                       epochs=EPOCHS, holdout=0.3)


def only_run(db: Path) -> str:
    (run,) = Store(db).list_runs()
    return run["run_id"]


def result_keys(db: Path, run_id: str) -> list[tuple[str, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT example_id, epoch FROM results WHERE run_id = ? ORDER BY ALL", [run_id]).fetchall()


def metrics(summary: dict) -> list[tuple]:
    return [(m["metric"], m["split"], m["slice_key"], m["slice_value"], m["n"], m["estimate"], m["low"], m["high"])
            for m in summary["metrics"] if m["metric"] != "latency_s"]  # timings differ from run to run


def test_a_run_stores_each_example_and_epoch_once_with_its_record(capsys, suite: Path, tmp_path: Path) -> None:
    db, out = tmp_path / "gg.duckdb", tmp_path / "summary.json"
    code, stdout, _ = run_cli(capsys, "run", str(suite), "--db", str(db), "--json", str(out), "--tag", "base")
    assert code == 0 and "public: all examples" in stdout
    run_id = only_run(db)
    assert result_keys(db, run_id) == sorted((f"ex-{i}", e) for i in range(N) for e in range(EPOCHS))
    record = Store(db).run_record(run_id)
    golden = load_golden_set(tmp_path / "golden.jsonl")
    assert record["status"] == "completed" and record["tag"] == "base"
    assert record["dataset_sha256"] == golden.sha256 and len(record["model_digest"]) == 64
    assert record["settings"]["suite"]["epochs"] == EPOCHS and record["prompt_sha256"]
    summary = json.loads(out.read_text())
    assert summary == record["summary"].model_dump(mode="json")
    assert summary["counts"] == {"results": N * EPOCHS, "errors": 0, "cached": 0, "judge_failures": 0}


def test_the_holdout_is_reported_apart_and_never_pooled(capsys, suite: Path, tmp_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    assert run_cli(capsys, "run", str(suite), "--db", str(db))[0] == 0
    summary = Store(db).run_record(only_run(db))["summary"].model_dump()
    private = {f"ex-{i}" for i in range(N) if is_holdout(f"ex-{i}", 0.3)}
    assert 0 < len(private) < N
    overall = {(m["split"], m["metric"]): m["n"] for m in summary["metrics"] if m["slice_key"] == "all"}
    assert overall[("public", "completion_tokens")] == N - len(private)
    assert overall[("holdout", "completion_tokens")] == len(private)


def test_resume_after_an_interruption_finishes_with_nothing_lost_or_repeated(
        capsys, suite: Path, tmp_path: Path, monkeypatch) -> None:
    whole_db, cut_db = tmp_path / "whole.duckdb", tmp_path / "cut.duckdb"
    assert run_cli(capsys, "run", str(suite), "--db", str(whole_db))[0] == 0

    original = EngineBackend.complete

    def stop_after_one_group(self, items):
        groups = original(self, items)
        yield next(groups)
        raise KeyboardInterrupt  # Ctrl-C while the rest is generating

    with monkeypatch.context() as m:
        m.setattr(EngineBackend, "complete", stop_after_one_group)
        assert run_cli(capsys, "run", str(suite), "--db", str(cut_db))[0] == 130
    run_id = only_run(cut_db)
    assert Store(cut_db).run_record(run_id)["status"] == "interrupted"  # not left `running`: labelling works
    assert 0 < len(result_keys(cut_db, run_id)) < N * EPOCHS

    code, stdout, _ = run_cli(capsys, "run", "--resume", run_id, "--db", str(cut_db))
    assert code == 0, stdout
    assert result_keys(cut_db, run_id) == result_keys(whole_db, only_run(whole_db))
    resumed = Store(cut_db).run_record(run_id)["summary"].model_dump()
    whole = Store(whole_db).run_record(only_run(whole_db))["summary"].model_dump()
    assert metrics(resumed) == metrics(whole)


def test_unchanged_answers_come_from_the_cache(capsys, suite: Path, tmp_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    assert run_cli(capsys, "run", str(suite), "--db", str(db), "--tag", "first")[0] == 0
    assert run_cli(capsys, "run", str(suite), "--db", str(db), "--tag", "second")[0] == 0
    first, second = (r["run_id"] for r in Store(db).list_runs())
    assert Store(db).run_record(second)["summary"].model_dump()["counts"]["cached"] == N * EPOCHS
    with duckdb.connect(str(db), read_only=True) as con:
        outputs = [con.execute("SELECT example_id, epoch, output FROM results WHERE run_id = ? ORDER BY ALL",
                               [r]).fetchall() for r in (first, second)]
    assert outputs[0] == outputs[1]


def test_a_changed_prompt_or_unseeded_sampling_is_not_served_from_the_cache(
        capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", examples(4))
    db = tmp_path / "gg.duckdb"
    for i, fields in enumerate([{}, {"prompt": {"system": "Be brief."}},
                                {"sampling": {"temperature": 0.8, "seed": None, "max_tokens": 4}},
                                {"sampling": {"temperature": 0.8, "seed": None, "max_tokens": 4}}]):
        suite = write_suite(tmp_path / f"suite{i}.yaml", golden, tiny_gguf, **fields)
        assert run_cli(capsys, "run", str(suite), "--db", str(db))[0] == 0
    assert [Store(db).run_record(r["run_id"])["summary"].model_dump()["counts"]["cached"] for r in Store(db).list_runs()] == [0] * 4


def test_resume_refuses_a_changed_golden_set(capsys, suite: Path, tmp_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    assert run_cli(capsys, "run", str(suite), "--db", str(db))[0] == 0
    run_id = only_run(db)
    golden = tmp_path / "golden.jsonl"
    golden.write_text(golden.read_text().replace("Question 3?", "Question three?"))
    code, _, err = run_cli(capsys, "run", "--resume", run_id, "--db", str(db))
    assert_one_line_error(code, err, str(golden), "golden set changed")


def test_resume_takes_no_suite_and_an_unknown_run_is_named(capsys, suite: Path, tmp_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    assert run_cli(capsys, "run", str(suite), "--db", str(db), "--limit", "2")[0] == 0
    assert_one_line_error(*run_cli(capsys, "run", str(suite), "--resume", "x", "--db", str(db))[::2], "--resume")
    assert_one_line_error(*run_cli(capsys, "run", "--resume", "nope", "--db", str(db))[::2], "no run 'nope'")
    assert_one_line_error(*run_cli(capsys, "run", str(suite), "--limit", "0", "--db", str(db))[::2], "--limit")


def test_a_defect_mid_run_marks_the_run_failed_exits_3_and_resume_finishes_it(
        capsys, suite: Path, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "gg.duckdb"
    original = EngineBackend.complete

    def break_after_one_group(self, items):
        groups = original(self, items)
        yield next(groups)
        raise RuntimeError("planted defect")

    with monkeypatch.context() as m:
        m.setattr(EngineBackend, "complete", break_after_one_group)
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db))
    assert code == 3 and "planted defect" in err
    run_id = only_run(db)
    assert Store(db).run_record(run_id)["status"] == "failed"
    assert run_cli(capsys, "run", "--resume", run_id, "--db", str(db))[0] == 0
    assert Store(db).run_record(run_id)["status"] == "completed"
    assert len(result_keys(db, run_id)) == N * EPOCHS
