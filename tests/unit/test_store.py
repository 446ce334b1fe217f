"""The DuckDB store: versioned schema, refusal of newer stores, Parquet export and import of runs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from evals.cli import main
from evals.errors import EvalInputError
from evals.store.schema import RUN_TABLES, SCHEMA_VERSION
from evals.store.store import Store
from tests.eval_files import examples, write_jsonl, write_suite


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, tiny_gguf: Path) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("run")
    suite = write_suite(folder / "suite.yaml", write_jsonl(folder / "golden.jsonl", examples(9)), tiny_gguf, epochs=2)
    db = folder / "gg.duckdb"
    assert main(["run", str(suite), "--db", str(db), "--tag", "baseline"]) == 0
    return db, Store(db).list_runs()[0]["run_id"]


def test_a_new_store_is_at_the_current_schema_version(tmp_path: Path) -> None:
    with Store(tmp_path / "gg.duckdb").write():
        pass
    with duckdb.connect(str(tmp_path / "gg.duckdb"), read_only=True) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"runs", "results", "scores", "generations", "judgments", "human_labels", "spans"} <= tables


def test_a_store_from_a_newer_goldgate_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    with Store(db).write():
        pass
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    with pytest.raises(EvalInputError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        with Store(db).write():
            pass
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_reading_a_missing_store_names_it(tmp_path: Path) -> None:
    with pytest.raises(EvalInputError, match="no such store"):
        Store(tmp_path / "none.duckdb").list_runs()


def rows(db: Path, run_id: str, columns: dict[str, str] | None = None) -> dict[str, list[tuple]]:
    """Each run table's rows (only `columns[table]` where given)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: sorted(con.execute(f"SELECT {(columns or {}).get(t, '*')} FROM {t} WHERE run_id = ?",
                                      [run_id]).fetchall(), key=repr)
                for t in RUN_TABLES}


def test_export_then_import_gives_back_every_row(finished_run, tmp_path: Path) -> None:
    db, run_id = finished_run
    files = Store(db).export_run(run_id, tmp_path / "export")
    assert {f.name for f in files} == {f"{t}.parquet" for t in RUN_TABLES} | {"manifest.json"}
    other = tmp_path / "other.duckdb"
    assert Store(other).import_run(tmp_path / "export") == run_id
    original, imported = rows(db, run_id), rows(other, run_id)
    assert original == imported and len(original["results"]) == 18
    with pytest.raises(EvalInputError, match="already in the store"):
        Store(other).import_run(tmp_path / "export")
    assert rows(other, run_id) == original


def test_import_refuses_a_folder_that_is_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(EvalInputError, match="no manifest.json"):
        Store(tmp_path / "gg.duckdb").import_run(tmp_path)


def test_a_version_1_store_is_migrated_with_its_rows_kept(finished_run, tmp_path: Path) -> None:
    from evals.store.schema import MIGRATIONS
    db = tmp_path / "v1.duckdb"
    with duckdb.connect(str(db)) as con:  # a store as goldgate wrote it before calibrations existed
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)")
        con.execute(MIGRATIONS[0])
        con.execute("INSERT INTO schema_version VALUES (1, now())")
        con.execute(f"ATTACH '{finished_run[0]}' AS old (READ_ONLY)")
        v1_columns = {t: ", ".join(c for (c, *_) in con.execute(f"DESCRIBE {t}").fetchall()) for t in RUN_TABLES}
        for table in RUN_TABLES:
            con.execute(f"INSERT INTO {table} SELECT {v1_columns[table]} FROM old.{table}")
    before = rows(db, finished_run[1])
    with Store(db).write():
        pass
    with duckdb.connect(str(db), read_only=True) as con:
        versions = [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()]
        assert con.execute("SELECT count(*) FROM calibrations").fetchone()[0] == 0
    assert versions == list(range(1, SCHEMA_VERSION + 1)) and SCHEMA_VERSION >= 2
    assert rows(db, finished_run[1], v1_columns) == before
    new = rows(db, finished_run[1], {"results": "trace_id, span_id, generation_span_id", "spans": "kind, events"})
    assert new["results"] == [(None, None, None)] * len(before["results"])  # version 3 columns start empty
    assert new["spans"] == [(None, None)] * len(before["spans"])
    assert before["spans"], "the run wrote spans"


def test_runs_take_db_before_or_after_the_action(capsys, monkeypatch, finished_run, tmp_path: Path) -> None:
    db, run_id = finished_run
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that the table does not wrap the id
    for args in (["runs", "--db", str(db), "list"], ["runs", "list", "--db", str(db)]):
        assert main(args) == 0
        assert run_id in capsys.readouterr().out
    assert main(["runs", "export", run_id, "--out", str(tmp_path / "x"), "--db", str(db)]) == 0
    assert (tmp_path / "x" / "manifest.json").exists()


def test_export_and_import_refuse_a_file_where_a_folder_belongs(finished_run, tmp_path: Path) -> None:
    db, run_id = finished_run
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    with pytest.raises(EvalInputError, match="a-file: --out: is a file"):
        Store(db).export_run(run_id, a_file)
    with pytest.raises(EvalInputError, match="a-file: not a folder"):
        Store(tmp_path / "other.duckdb").import_run(a_file)


def test_an_import_whose_manifest_contradicts_its_data_is_refused_and_stores_nothing(finished_run,
                                                                                     tmp_path: Path) -> None:
    db, run_id = finished_run
    folder = tmp_path / "export"
    Store(db).export_run(run_id, folder)
    (folder / "manifest.json").write_text(json.dumps({"run_id": "someone-else", "schema_version": SCHEMA_VERSION}))
    other = tmp_path / "other.duckdb"
    with pytest.raises(EvalInputError, match="run_id: the manifest names run 'someone-else'"):
        Store(other).import_run(folder)
    assert not other.exists() or Store(other).list_runs() == []
