"""Keeping captured data for a bounded time (09 §9.2-9.3): spans pruned by age, captured content stripped
from spans by a shorter age, one user's spans forgotten, each counted before it is done, the file
compacted after; and the audit log of who read or deleted captured content. Results, scores and run
summaries are never touched: they are the eval record, not production traffic."""

from __future__ import annotations

import os
from datetime import datetime

import duckdb

from evals.store.store import Store, now
from telemetry.attribution import USER_HASH
from telemetry.messages import CONTENT_KEYS, INFERENCE_DETAILS_EVENT

# a span holds captured content: on its attributes, or as the conventions' content event
HAS_CONTENT = "(" + " OR ".join([*(f"json_exists(attributes, '$.\"{k}\"')" for k in CONTENT_KEYS),
                                 f"contains(coalesce(events, ''), '\"{INFERENCE_DETAILS_EVENT}\"')"]) + ")"
_NO_CONTENT = "{" + ", ".join(f'"{k}": null' for k in CONTENT_KEYS) + "}"  # a JSON merge patch removing them
USER_TRACES = f"trace_id IN (SELECT trace_id FROM spans WHERE attributes->>'{USER_HASH}' = $user)"


def prune_counts(store: Store, spans_before: datetime | None, content_before: datetime | None) -> tuple[int, int]:
    """(spans older than `spans_before`, younger spans with content older than `content_before`)."""
    with store.read() as con:
        return con.execute(f"""
            SELECT count(*) FILTER (WHERE end_time < $spans),
                   count(*) FILTER (WHERE end_time >= coalesce($spans, '-infinity'::TIMESTAMP)
                                    AND end_time < $content AND {HAS_CONTENT})
            FROM spans""", {"spans": spans_before, "content": content_before}).fetchone()


def prune(store: Store, spans_before: datetime | None, content_before: datetime | None, actor: str) -> tuple[int, int]:
    """Delete the old spans and strip content from the less old, in one transaction; then compact."""
    counts = prune_counts(store, spans_before, content_before)
    with store.write() as con:
        if spans_before is not None:
            con.execute("DELETE FROM spans WHERE end_time < $spans", {"spans": spans_before})
        if content_before is not None:
            con.execute(f"""
                UPDATE spans SET attributes = json_merge_patch(attributes, $patch),
                    events = to_json(list_filter(from_json(coalesce(events, '[]'), '["JSON"]'),
                                                 lambda e: json_extract_string(e, 'name') <> $event))
                WHERE end_time < $content AND {HAS_CONTENT}""",
                        {"patch": _NO_CONTENT, "event": INFERENCE_DETAILS_EVENT, "content": content_before})
        _audit(con, actor, "prune", f"spans before {spans_before}, content before {content_before}", sum(counts))
    compact(store)
    return counts


def forget_count(store: Store, user_hash: str) -> int:
    """Spans of the traces that carry this user's hash (the request's, its generation's, their children)."""
    with store.read() as con:
        return con.execute(f"SELECT count(*) FROM spans WHERE {USER_TRACES}", {"user": user_hash}).fetchone()[0]


def forget(store: Store, user_hash: str, actor: str) -> int:
    n = forget_count(store, user_hash)
    with store.write() as con:
        con.execute(f"DELETE FROM spans WHERE {USER_TRACES}", {"user": user_hash})
        _audit(con, actor, "forget", user_hash, n)
    compact(store)
    return n


def content_spans(store: Store, where: str, params: dict[str, object]) -> int:
    with store.read() as con:
        return con.execute(f"SELECT count(*) FROM spans WHERE ({where}) AND {HAS_CONTENT}", params).fetchone()[0]


def record_content_read(store: Store, actor: str, target: str, spans: int) -> None:
    """One read of captured content, before it is shown or written out."""
    with store.write() as con:
        _audit(con, actor, "read_content", target, spans)


def audit_log(store: Store) -> list[tuple]:
    with store.read() as con:
        return con.execute("SELECT logged_at, actor, action, target, spans FROM audit_log ORDER BY logged_at").fetchall()


def _audit(con, actor: str, action: str, target: str, spans: int) -> None:
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)", [now(), actor, action, target, spans])


def compact(store: Store) -> None:
    """Rewrite the file without the space deleted rows held (DuckDB reuses freed blocks but never gives them
    back): copy every table into a fresh file beside it, then put that in its place. Run it while nothing
    else writes to the store (a server flushing spans would lose what it wrote meanwhile)."""
    fresh = store.path.with_name(store.path.name + ".compacting")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect(str(store.path))
    try:
        name = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f"ATTACH '{_sql(fresh)}' AS compacting")
        con.execute(f'COPY FROM DATABASE "{name}" TO compacting')
        con.execute("DETACH compacting")
    finally:
        con.close()
    os.replace(fresh, store.path)


def _sql(path: os.PathLike) -> str:
    return str(path).replace("'", "''")
