"""The spans table's columns, chosen here from telemetry's span records, and the insert that fills it."""

from __future__ import annotations

from typing import Sequence

import duckdb

from evals.store.batch import insert_columns
from evals.store.store import Store
from telemetry.sinks import SpanRecord

# the span, then typed copies of the attributes a dashboard and the SLOs aggregate (migrations 1, 3, 4, 6 and 8)
SPAN_COLUMNS = ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time", "status_code",
                "attributes", "events", "run_id", "example_id", "model", "duration_s", "ttft_s", "tpot_s",
                "input_tokens", "output_tokens", "error_type", "finish_reason", "requests_waiting", "kv_cache_usage",
                "http_status", "cost", "feature", "variant", "sample_weight")


def insert_spans(con: duckdb.DuckDBPyConnection, spans: Sequence[SpanRecord]) -> None:
    """Finished spans, inside the caller's transaction, as one batch."""
    if spans:
        insert_columns(con, "spans", {c: [getattr(s, c) for s in spans] for c in SPAN_COLUMNS})


def write_spans(store: Store, spans: Sequence[SpanRecord]) -> None:
    """Spans alone, in one short transaction (a long-running server's, every few seconds)."""
    with store.write() as con:
        insert_spans(con, spans)


def attribute_sql(key: str) -> str:
    """A span attribute read from the JSON column (for those without a typed copy), as text."""
    return f"json_extract_string(attributes, '$.\"{key}\"')"
