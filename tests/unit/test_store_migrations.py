"""Every change to what is stored is a numbered migration: of the store's tables, of the run summary, and
of an export, which an older goldgate wrote and a newer one imports."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from evals.errors import EvalInputError
from evals.store.schema import MIGRATIONS, RUN_TABLES, SCHEMA_VERSION
from evals.store.store import Store
from evals.store.summary import SUMMARY_MIGRATIONS, SUMMARY_VERSION, RunSummary, load_summary

JUDGES = [{"judge_id": "rubric@m", "scales": {"correct": [0, 1], "overall": [1, 5]}}]


def test_adding_a_migration_without_bumping_the_version_fails() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION
    assert len(SUMMARY_MIGRATIONS) + 1 == SUMMARY_VERSION


def version_4_rows(con: duckdb.DuckDBPyConnection) -> None:
    """A judged run as goldgate wrote it at schema version 4: judge scores only in `judgments`."""
    con.execute("INSERT INTO runs (run_id, suite_name, status, dataset_name, dataset_path, dataset_sha256, "
                "n_examples, epochs, model_id, prompt_sha256, judges, settings, goldgate_version, started_at) "
                "VALUES ('r1', 's', 'completed', 'd', 'd.jsonl', 'sha', 2, 1, 'm', 'p', ?, '{}', '0.1.0', now())",
                [json.dumps(JUDGES)])
    con.execute("INSERT INTO results (run_id, example_id, epoch, holdout, labels, input_sha256, cached, created_at) "
                "VALUES ('r1', 'a', 0, false, '{}', 'x', false, now()), ('r1', 'b', 0, false, '{}', 'y', false, now())")
    con.execute("INSERT INTO scores VALUES ('r1', 'a', 0, 'exact_match', 1, 'equal')")
    con.execute("""INSERT INTO judgments VALUES
        ('r1', 'a', 0, 'rubric@m', 'ps', 'overall', 'scored', 4, 'mostly right', '{}', now()),
        ('r1', 'a', 0, 'rubric@m', 'ps', 'correct', 'scored', 1, 'mostly right', '{}', now()),
        ('r1', 'b', 0, 'rubric@m', 'ps', 'overall', 'parse_error', NULL, 'no JSON', 'oops', now()),
        ('calibration-x', 'a', 0, 'rubric@m', 'ps', 'overall', 'scored', 2, 'calibrating', '{}', now())""")


def judge_scores(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT run_id, example_id, scorer, value, explanation FROM scores "
                           "WHERE scorer LIKE 'rubric@m/%' ORDER BY ALL").fetchall()


def test_migration_5_makes_each_scored_judge_dimension_a_normalised_score(tmp_path: Path) -> None:
    db = tmp_path / "v4.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)")
        for number, sql in enumerate(MIGRATIONS[:4], start=1):
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [number])
        version_4_rows(con)
    with Store(db).write():
        pass
    # 4 on [1, 5] is 0.75 and 1 on [0, 1] is 1.0; the unparsed reply and the calibration's verdict give none
    assert judge_scores(db) == [("r1", "a", "rubric@m/correct", 1.0, "mostly right"),
                                ("r1", "a", "rubric@m/overall", 0.75, "mostly right")]


def test_an_export_from_schema_version_4_is_migrated_on_import(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    with duckdb.connect() as con:
        for sql in MIGRATIONS[:4]:
            con.execute(sql)
        version_4_rows(con)
        for table in RUN_TABLES:
            con.execute(f"COPY (SELECT * FROM {table} WHERE run_id = 'r1') TO '{folder / table}.parquet' "
                        "(FORMAT parquet)")
    (folder / "manifest.json").write_text(json.dumps({"run_id": "r1", "schema_version": 4}))
    db = tmp_path / "gg.duckdb"
    assert Store(db).import_run(folder) == "r1"
    assert judge_scores(db) == [("r1", "a", "rubric@m/correct", 1.0, "mostly right"),
                                ("r1", "a", "rubric@m/overall", 0.75, "mostly right")]
    assert Store(db).run_record("r1")["judges"] == JUDGES


def test_an_export_from_a_newer_goldgate_is_refused_naming_its_version(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"run_id": "r1", "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(EvalInputError, match=f"manifest.json: schema_version: exported with schema version "
                                             f"{SCHEMA_VERSION + 1}"):
        Store(tmp_path / "gg.duckdb").import_run(tmp_path)


def summary_v1() -> dict:
    """A summary as goldgate stored it before summaries had a version (and before judges joined runs)."""
    return {"run_id": "r1", "suite_name": "s", "tag": None, "dataset_name": "d", "dataset_sha256": "sha",
            "n_examples": 1, "epochs": 1, "model_id": "m", "model_digest": None, "endpoint": None,
            "prompt_sha256": "p", "judges": [], "git_commit": None, "git_dirty": None, "goldgate_version": "0.1.0",
            "started_at": "2026-11-01T00:00:00Z", "counts": {"results": 1, "errors": 0, "cached": 0},
            "metrics": [{"metric": "exact_match", "split": "public", "slice_key": "all", "slice_value": "all",
                         "n": 1, "estimate": 1.0, "low": 1.0, "high": 1.0}]}


def test_a_version_1_summary_loads_at_the_current_version() -> None:
    summary = load_summary(json.dumps(summary_v1()))
    assert summary.summary_version == SUMMARY_VERSION
    assert summary.counts.judge_failures == 0 and summary.metrics[0].estimate == 1.0
    assert RunSummary.model_validate_json(summary.to_json()) == summary  # what is stored reads back the same


def test_a_summary_from_a_newer_goldgate_is_refused() -> None:
    with pytest.raises(EvalInputError, match=f"version {SUMMARY_VERSION + 1}, newer"):
        load_summary({**summary_v1(), "summary_version": SUMMARY_VERSION + 1})
