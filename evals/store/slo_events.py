"""What SLOs count in the store, over windows that end at one instant: bad and total requests (5xx
answers), first tokens (later than a threshold), scores (under a pass mark) and spend. One query per
objective, a FILTER per window, over the typed span columns (no JSON is parsed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from evals.store.store import Store

GENERATION = "(name LIKE 'chat %' OR name LIKE 'text_completion %') AND model IS NOT NULL"
Counts = tuple[int, int]  # (bad, total)


def _windowed(store: Store, table: str, time_column: str, measures: Sequence[str], where: str,
              params: dict[str, object], windows_s: Sequence[int], at: datetime) -> list[tuple]:
    """Each of `measures` (aggregates, `{window}` in their FILTER) over each window (at - w, at], in one scan
    of the longest; `where` and `params` name the events counted."""
    starts = {f"w{i}": at - timedelta(seconds=w) for i, w in enumerate(windows_s)}
    select = ", ".join(m.format(window=f"{time_column} > ${w}") for w in starts for m in measures)
    sql = f"SELECT {select} FROM {table} WHERE {time_column} > $lo AND {time_column} <= $at AND {where}"
    with store.read() as con:
        row = con.execute(sql, {**starts, "lo": min(starts.values()), "at": at, **params}).fetchone()
    k = len(measures)
    return [tuple(v or 0 for v in row[i * k:(i + 1) * k]) for i in range(len(starts))]


def _model(model: str | None) -> tuple[str, dict[str, object]]:
    return (" AND model = $m", {"m": model}) if model else ("", {})


def request_counts(store: Store, windows_s: Sequence[int], at: datetime, model: str | None = None) -> list[Counts]:
    """(5xx answers, requests) of server spans; a model filter keeps the requests whose generation was its."""
    clause, params = ("", {})
    if model:
        clause, params = (" AND trace_id IN (SELECT trace_id FROM spans WHERE model = $m)", {"m": model})
    return _windowed(store, "spans", "end_time",
                     ["count(*) FILTER (WHERE {window} AND http_status >= 500)", "count(*) FILTER (WHERE {window})"],
                     "kind = 'SERVER' AND http_status IS NOT NULL" + clause, params, windows_s, at)


def first_token_counts(store: Store, windows_s: Sequence[int], at: datetime, threshold_s: float,
                       model: str | None = None) -> list[Counts]:
    """(first tokens later than the threshold, first tokens) of generation spans: a generation that failed
    before its first token is the availability SLO's, not this one's (as in the TTFT histogram)."""
    clause, params = _model(model)
    return _windowed(store, "spans", "end_time",
                     ["count(*) FILTER (WHERE {window} AND ttft_s > $t)", "count(*) FILTER (WHERE {window})"],
                     f"{GENERATION} AND ttft_s IS NOT NULL{clause}", {"t": threshold_s, **params}, windows_s, at)


def score_counts(store: Store, windows_s: Sequence[int], at: datetime, scorer: str, min_score: float,
                 model: str | None = None) -> list[Counts]:
    """(scores under the pass mark, scores) of one scorer, by when their answers were stored."""
    clause, params = ("", {})
    if model:
        clause, params = (" AND r.run_id IN (SELECT run_id FROM runs WHERE model_id = $m)", {"m": model})
    return _windowed(store, "scores s JOIN results r USING (run_id, example_id, epoch)", "r.created_at",
                     ["count(*) FILTER (WHERE {window} AND s.value < $p)", "count(*) FILTER (WHERE {window})"],
                     f"s.scorer = $s{clause}", {"p": min_score, "s": scorer, **params}, windows_s, at)


def spend(store: Store, windows_s: Sequence[int], at: datetime, model: str | None = None) -> list[float]:
    """What generations cost in each window (generation spans carry their cost; results repeat it)."""
    clause, params = _model(model)
    rows = _windowed(store, "spans", "end_time", ["sum(cost) FILTER (WHERE {window})"],
                     f"{GENERATION} AND cost IS NOT NULL{clause}", params, windows_s, at)
    return [float(r[0]) for r in rows]
