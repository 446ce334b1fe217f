"""The DuckDB store: one writer at a time, readers read-only; connections are short so both can take turns.

DuckDB locks the file for as long as a read-write connection is open, so the runner opens one per
batch of results (one transaction each: a crash loses at most the batch in flight, never half of
it), and a dashboard opening the file between batches sees every finished row.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb

from evals.errors import EvalInputError
from evals.store.schema import MIGRATIONS, RUN_TABLES, SCHEMA_VERSION
from evals.store.summary import load_summary

_LOCK_WAIT_S = 30.0


def now() -> datetime:
    """UTC, without a zone: the store's TIMESTAMP columns are all UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction, migrated to the current schema first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            self._migrate(con)
            con.begin()
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()
        finally:
            con.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.path.exists():
            raise EvalInputError("no such store; `goldgate run` creates it", file=self.path)
        con = self._connect(read_only=True)
        try:
            self._check_version(con)
            yield con
        finally:
            con.close()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    raise EvalInputError(f"cannot open the store: {e}", file=self.path) from None
                time.sleep(0.05)

    def _check_version(self, con: duckdb.DuckDBPyConnection) -> int:
        has_table = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version'").fetchone()[0]
        if not has_table:
            return 0
        version = con.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
        if version > SCHEMA_VERSION:
            raise EvalInputError(f"the store has schema version {version}, newer than this goldgate's "
                                 f"{SCHEMA_VERSION}; upgrade goldgate", file=self.path)
        return version

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        version = self._check_version(con)
        if version == SCHEMA_VERSION:
            return
        con.begin()
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)")
        for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [number, now()])
        con.commit()

    # --- runs --

    def run_record(self, run_id: str) -> dict[str, Any]:
        with self.read() as con:
            row = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchone()
            if row is None:
                raise EvalInputError(f"no run {run_id!r} in the store", file=self.path)
            names = [d[0] for d in con.description]
        record = dict(zip(names, row))
        for key in ("settings", "judges"):
            record[key] = json.loads(record[key])
        record["summary"] = None if record["summary"] is None else load_summary(record["summary"])
        return record

    def list_runs(self) -> list[dict[str, Any]]:
        with self.read() as con:
            cur = con.execute("SELECT run_id, suite_name, tag, status, dataset_name, dataset_sha256, model_id, "
                              "started_at, finished_at FROM runs ORDER BY started_at")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def done_keys(self, run_id: str) -> set[tuple[str, int]]:
        """(example id, epoch) pairs with a successful result; the rest are still to run."""
        with self.read() as con:
            rows = con.execute("SELECT example_id, epoch FROM results WHERE run_id = ? AND error IS NULL",
                               [run_id]).fetchall()
        return {(e, int(n)) for e, n in rows}

    def add_gate_result(self, candidate: str, baseline: str, n_failed: int, report: dict[str, Any]) -> None:
        with self.write() as con:
            con.execute("INSERT INTO gate_results VALUES (?, ?, ?, ?, ?, ?)",
                        [candidate, baseline, n_failed == 0, n_failed, json.dumps(json_safe(report)), now()])

    def save_labels(self, dataset_sha256: str, run_id: str, example_id: str, answer: str, rater: str,
                    labels: dict[str, str]) -> None:
        """One person's labels on one answer (the dashboard's Label page), with the answer they saw. Refused
        while a run is writing, so a label never lands between a run's transactions."""
        with self.write() as con:
            running = [r for (r,) in con.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()]
            if running:
                raise EvalInputError(f"run {running[0]} is still writing; label when it has finished", file=self.path)
            con.execute("INSERT OR REPLACE INTO labelled_answers VALUES (?, ?, ?, ?, ?)",
                        [dataset_sha256, example_id, answer, run_id, now()])
            con.executemany("INSERT OR REPLACE INTO human_labels VALUES (?, ?, ?, ?, ?, ?)",
                            [(dataset_sha256, example_id, rater, dim, label, now()) for dim, label in labels.items()])

    # --- export / import --

    def export_run(self, run_id: str, folder: Path) -> list[Path]:
        """One Parquet file per table, plus a manifest with the schema version."""
        self.run_record(run_id)
        if folder.exists() and not folder.is_dir():
            raise EvalInputError("is a file; give a folder to write the export into", file=folder, field="--out")
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        with self.read() as con:
            for table in RUN_TABLES:
                target = folder / f"{table}.parquet"
                con.execute(f"COPY (SELECT * FROM {table} WHERE run_id = $run_id) TO '{_sql_path(target)}' "
                            "(FORMAT parquet)", {"run_id": run_id})
                files.append(target)
        manifest = folder / "manifest.json"
        manifest.write_text(json.dumps({"run_id": run_id, "schema_version": SCHEMA_VERSION}, indent=2) + "\n")
        return [*files, manifest]

    def import_run(self, folder: Path) -> str:
        if not folder.is_dir():
            raise EvalInputError("not a folder; give the folder `goldgate runs export` wrote", file=folder)
        manifest = folder / "manifest.json"
        try:
            meta = json.loads(manifest.read_text())
            run_id, version = meta["run_id"], meta["schema_version"]
        except FileNotFoundError:
            raise EvalInputError("not a run export (no manifest.json)", file=folder) from None
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise EvalInputError(f"unreadable manifest: {e}", file=manifest) from None
        if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
            raise EvalInputError(f"exported with schema version {version!r}; this goldgate reads 1 to "
                                 f"{SCHEMA_VERSION}", file=manifest, field="schema_version")
        missing = [t for t in RUN_TABLES if not (folder / f"{t}.parquet").exists()]
        if missing:
            raise EvalInputError(f"missing {', '.join(t + '.parquet' for t in missing)}", file=folder)
        tables = _migrated_export(folder, version)
        found = {table: set(rows.column("run_id").to_pylist()) for table, rows in tables.items()}
        if found["runs"] != {run_id} or any(ids - {run_id} for ids in found.values()):
            raise EvalInputError(f"the manifest names run {run_id!r}, the Parquet files hold "
                                 f"{sorted(set().union(*found.values()))}", file=manifest, field="run_id")
        with self.write() as con:
            if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchall()[0][0]:
                raise EvalInputError(f"run {run_id!r} is already in the store", file=self.path)
            for table, rows in tables.items():
                con.register("incoming", rows)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
                con.unregister("incoming")
        return run_id


def json_safe(value: Any) -> Any:
    """`value` ready for a JSON column: NaN and infinities (an undefined kappa, say) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _migrated_export(folder: Path, version: int) -> dict[str, Any]:
    """An export's tables at the current schema: loaded into an in-memory database built at the schema
    they were written with, then taken through every later migration (as Arrow tables)."""
    con = duckdb.connect()
    try:
        for sql in MIGRATIONS[:version]:
            con.execute(sql)
        for table in RUN_TABLES:
            parquet = _sql_path(folder / f"{table}.parquet")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet('{parquet}')")
        for sql in MIGRATIONS[version:]:
            con.execute(sql)
        return {table: con.sql(f"SELECT * FROM {table}").to_arrow_table() for table in RUN_TABLES}
    except duckdb.Error as e:
        raise EvalInputError(f"cannot read the export at schema version {version}: {e}", file=folder) from None
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")

