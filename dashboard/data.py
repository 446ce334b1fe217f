"""What every page shares: the store it reads, cached query results (kept until the file changes),
and the empty state for a store with nothing in it yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from evals.settings import Settings
from evals.store import queries
from evals.store.store import Store


def db_path() -> Path:
    return Settings.from_env().db  # `goldgate dashboard --db PATH` sets $GOLDGATE_DB for the app


def store_version(db: Path) -> tuple[int, ...]:
    """Changes whenever the store does (DuckDB writes its log first, then the file)."""
    return tuple(p.stat().st_mtime_ns for p in (db, db.with_name(db.name + ".wal")) if p.exists())


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, db: str, version: tuple[int, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    with Store(db).read() as con:
        return getattr(queries, name)(con, **dict(kwargs))


def query(name: str, **kwargs: Any) -> Any:
    """`evals.store.queries.<name>(con, **kwargs)`, cached until the store changes."""
    db = db_path()
    return _cached(name, str(db), store_version(db), tuple(sorted(kwargs.items())))


def store_or_empty_state() -> pd.DataFrame | None:
    """The runs, or None after showing what to do when there are none."""
    db = db_path()
    command = f"goldgate run datasets/general-v1/suite.yaml --db {db}"
    if not db.exists():
        st.info(f"No store at `{db}` yet. Create one with a run:")
        st.code(command, language="sh")
        return None
    runs = query("runs")
    if runs.empty:
        st.info(f"The store at `{db}` holds no runs yet. Start one:")
        st.code(command, language="sh")
        return None
    return runs


def pick_run(runs: pd.DataFrame, label: str = "Run", *, key: str = "run", index: int = 0) -> str:
    """A run chosen by the person (the newest first), remembered in the page's URL."""
    ids = runs["run_id"].tolist()
    wanted = st.query_params.get(key)
    chosen = st.selectbox(label, ids, index=ids.index(wanted) if wanted in ids else min(index, len(ids) - 1),
                          format_func=lambda r: _run_label(runs, r), key=f"pick-{key}")
    st.query_params[key] = chosen
    return chosen


def _run_label(runs: pd.DataFrame, run_id: str) -> str:
    tag = runs.loc[runs["run_id"] == run_id, "tag"].iloc[0]
    return f"{run_id} ({tag})" if tag else run_id


def example_filters(run_id: str) -> dict[str, Any]:
    """The slice, outcome, latency and cost filters over a run's examples, as the `examples` query's arguments."""
    slices = query("slices", run_id=run_id)
    options = [None, *zip(slices["slice_key"], slices["slice_value"])]
    left, middle, right, far = st.columns(4)
    chosen = left.selectbox("Slice", options, format_func=lambda o: "all" if o is None else f"{o[0]} = {o[1]}",
                            key="slice")
    outcome = middle.selectbox("Outcome", [None, "pass", "fail", "error"], format_func=lambda o: o or "any",
                               key="outcome")
    slower = right.number_input("Slower than (s)", min_value=0.0, value=0.0, step=0.1, key="slower")
    costlier = far.number_input("Costlier than", min_value=0.0, value=0.0, step=0.0001, format="%.6f", key="costlier")
    return {"slice_key": chosen[0] if chosen else None, "slice_value": chosen[1] if chosen else None,
            "outcome": outcome, "min_latency_s": slower or None, "min_cost": costlier or None}
