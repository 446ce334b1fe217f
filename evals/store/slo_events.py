"""What SLOs count in the store: bad and total requests (5xx answers), first tokens (later than a threshold),
scores (under a pass mark) and spend, over windows that end at one instant (one query per objective, a
FILTER per window) or in time buckets (for a burn-rate chart). Typed span columns only: no JSON is parsed.
A span counts as its sampling weight (a tail-sampled store keeps every error but only a share of the rest:
counted one by one, its error rate would be the sample's, not the traffic's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

import pandas as pd

from evals.store.store import Store

SPAN_WEIGHT = "coalesce(sample_weight, 1)"
GENERATION = "(name LIKE 'chat %' OR name LIKE 'text_completion %') AND model IS NOT NULL"


@dataclass(frozen=True)
class EventSource:
    """Where an SLO's events are: the rows (`table`, `where`), when each happened, which are bad (for
    spend, `bad` is the amount and `total` None) and how many events each row stands for."""

    table: str
    time: str
    where: str
    bad: str
    total: str | None = "1"
    params: dict[str, object] = field(default_factory=dict)
    weight: str = SPAN_WEIGHT


def requests(model: str | None = None) -> EventSource:
    """Server spans and their 5xx answers; a model filter keeps requests whose generation was its."""
    where = "kind = 'SERVER' AND http_status IS NOT NULL"
    if model:
        where += " AND trace_id IN (SELECT trace_id FROM spans WHERE model = $m)"
    return EventSource("spans", "end_time", where, "http_status >= 500", params={"m": model} if model else {})


def first_tokens(threshold_s: float, model: str | None = None) -> EventSource:
    """Generation spans that produced a first token, and those later than the threshold (a generation that
    failed before its first token is the availability SLO's, as in the TTFT histogram)."""
    where = f"{GENERATION} AND ttft_s IS NOT NULL" + (" AND model = $m" if model else "")
    return EventSource("spans", "end_time", where, "ttft_s > $t",
                       params={"t": threshold_s, **({"m": model} if model else {})})


def scores(scorer: str, min_score: float, model: str | None = None) -> EventSource:
    """One scorer's scores, by when their answers were stored, and those under the pass mark."""
    where = "s.scorer = $s" + (" AND r.run_id IN (SELECT run_id FROM runs WHERE model_id = $m)" if model else "")
    return EventSource("scores s JOIN results r USING (run_id, example_id, epoch)", "r.created_at", where,
                       "s.value < $p", params={"s": scorer, "p": min_score, **({"m": model} if model else {})},
                       weight="1")


def spend(model: str | None = None) -> EventSource:
    """What generations cost (generation spans carry their cost; results repeat it)."""
    where = f"{GENERATION} AND cost IS NOT NULL" + (" AND model = $m" if model else "")
    return EventSource("spans", "end_time", where, "cost", total=None, params={"m": model} if model else {})


def _measures(source: EventSource, condition: str) -> list[str]:
    """The aggregates of `source` over the rows where `condition` holds: (bad, total), or (spent,)."""
    w = source.weight
    if source.total is None:
        return [f"sum({source.bad} * {w}) FILTER (WHERE {condition})"]
    return [f"sum({w}) FILTER (WHERE {condition} AND {source.bad})", f"sum({w}) FILTER (WHERE {condition})"]


def windowed(store: Store, source: EventSource, windows_s: Sequence[int], at: datetime) -> list[tuple]:
    """(bad, total) or (spent,) over each window (at - w, at], in one scan of the longest."""
    starts = {f"w{i}": at - timedelta(seconds=w) for i, w in enumerate(windows_s)}
    select = ", ".join(m for w in starts for m in _measures(source, f"{source.time} > ${w}"))
    sql = f"SELECT {select} FROM {source.table} WHERE {source.time} > $lo AND {source.time} <= $at AND {source.where}"
    with store.read() as con:
        row = con.execute(sql, {**starts, "lo": min(starts.values()), "at": at, **source.params}).fetchone()
    k = len(row) // len(starts)
    return [tuple(v or 0 for v in row[i * k:(i + 1) * k]) for i in range(len(starts))]


def bucketed(store: Store, source: EventSource, bucket_s: int, since: datetime, at: datetime) -> pd.DataFrame:
    """Per time bucket of `bucket_s` seconds in (since, at]: its start `t` and `bad` and `total` (spend:
    `bad` is what was spent, `total` the bucket's length in seconds)."""
    w = source.weight
    bad, total = (f"sum({source.bad} * {w})", str(bucket_s)) if source.total is None else \
        (f"sum({w}) FILTER (WHERE {source.bad})", f"sum({w})")
    sql = (f"SELECT time_bucket(to_seconds($b), {source.time}) AS t, {bad} AS bad, {total} AS total "
           f"FROM {source.table} WHERE {source.time} > $since AND {source.time} <= $at AND {source.where} "
           "GROUP BY 1 ORDER BY 1")
    with store.read() as con:
        return con.execute(sql, {"b": bucket_s, "since": since, "at": at, **source.params}).df()
