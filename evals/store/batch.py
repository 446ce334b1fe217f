"""Rows into a table as one columnar batch: an Arrow table typed by the target's own columns, inserted by
one INSERT ... SELECT. DuckDB's `executemany` binds and runs a statement per row, which made the store,
not the model, the bound of a large run."""

from __future__ import annotations

import itertools
from typing import Any, Mapping, Sequence

import duckdb
import pyarrow as pa

_names = itertools.count()


def insert_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Sequence[Any]],
                   verb: str = "INSERT OR REPLACE") -> None:
    """`columns` (name to values, all the same length) into `table`, inside the caller's transaction."""
    names = ", ".join(columns)
    schema = con.sql(f"SELECT {names} FROM {table} LIMIT 0").to_arrow_table().schema
    batch = pa.table([pa.array(columns[f.name], type=f.type) for f in schema], schema=schema)
    view = f"incoming_{next(_names)}"
    con.register(view, batch)
    try:
        con.execute(f"{verb} INTO {table} ({names}) SELECT {names} FROM {view}")
    finally:
        con.unregister(view)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]],
                verb: str = "INSERT OR REPLACE") -> None:
    """`rows` (mappings holding at least `columns`) into `table` as one batch."""
    if rows:
        insert_columns(con, table, {c: [r[c] for r in rows] for c in columns}, verb)
