"""Store write speed: 100,000 results with 4 scores each and 400,000 spans through the store's own
`write_batch` (the runner's path at full speed: WRITE_AT_MOST results per transaction, each on a fresh
connection), against a bare DuckDB Arrow insert of the same rows into the same tables in one
transaction. Both start from the same Python rows (dicts and span records) and a fresh file. Rows per
second are printed for each, and the ratio goldgate / bare last. Target: 0.5 or more.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.run.runner import WRITE_AT_MOST  # noqa: E402
from evals.store.results import RESULT_COLUMNS, SCORE_COLUMNS, write_batch  # noqa: E402
from evals.store.schema import MIGRATIONS  # noqa: E402
from evals.store.spans import SPAN_COLUMNS  # noqa: E402
from evals.store.store import Store, now  # noqa: E402
from telemetry.sinks import SpanRecord  # noqa: E402

SCORERS = ("exact_match", "contains_any", "token_f1", "rouge_l")


def rows(n: int) -> tuple[list[dict], list[dict], list[SpanRecord]]:
    """n results, four scores each, and four spans each (the example, its generation, two scorers)."""
    t0 = datetime(2026, 12, 1)
    results, scores, spans = [], [], []
    for i in range(n):
        ex, trace = f"q{i:06d}", f"{i:032x}"
        results.append({"run_id": "bench", "example_id": ex, "epoch": 0, "holdout": i % 10 == 0,
                        "labels": json.dumps({"intent": f"i{i % 5}"}), "input_sha256": f"{i:064x}",
                        "output": f"The answer is {2 * i}.", "finish_reason": "stop", "prompt_tokens": 30,
                        "completion_tokens": 8, "latency_s": 0.01, "ttft_s": 0.002, "cached": False, "error": None,
                        "trace_id": trace, "span_id": f"{4 * i:016x}", "generation_span_id": f"{4 * i + 1:016x}"})
        scores += [{"run_id": "bench", "example_id": ex, "epoch": 0, "scorer": s, "value": 1.0, "explanation": ""}
                   for s in SCORERS]
        start = t0 + timedelta(milliseconds=i)
        spans += [SpanRecord(trace, f"{4 * i + k:016x}", None if k == 0 else f"{4 * i:016x}", name, "INTERNAL",
                             start, start + timedelta(milliseconds=10), "UNSET", '{"gen_ai.operation.name": "chat"}',
                             "[]", "bench", ex, "m", 0.01, 0.002 if k == 1 else None, None, 30, 8, None, "stop",
                             0, 0.0) for k, name in enumerate(("eval example", "chat m", "score a", "score b"))]
    return results, scores, spans


def goldgate_seconds(db: Path, results: list[dict], scores: list[dict], spans: list[SpanRecord], group: int) -> float:
    store = Store(db)
    with store.write():
        pass  # the schema, made before the clock starts (the bare side gets its tables free too)
    per = len(scores) // len(results)
    start = time.perf_counter()
    for g in range(0, len(results), group):
        write_batch(store, results[g:g + group], scores[g * per:(g + group) * per], (), spans[g * per:(g + group) * per])
    return time.perf_counter() - start


def bare_seconds(db: Path, results: list[dict], scores: list[dict], spans: list[SpanRecord]) -> float:
    con = duckdb.connect(str(db))
    for sql in MIGRATIONS:
        con.execute(sql)
    start = time.perf_counter()
    created = now()
    con.begin()
    for table, columns in (("results", {c: [created if c == "created_at" else r[c] for r in results]
                                        for c in RESULT_COLUMNS}),
                           ("scores", {c: [s[c] for s in scores] for c in SCORE_COLUMNS}),
                           ("spans", {c: [getattr(s, c) for s in spans] for c in SPAN_COLUMNS})):
        con.register("incoming", pa.table(columns))
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM incoming")
        con.unregister("incoming")
    con.commit()
    con.close()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", type=int, default=100_000)
    ap.add_argument("--group", type=int, default=WRITE_AT_MOST, help="results per transaction on the goldgate side")
    args = ap.parse_args()
    results, scores, spans = rows(args.results)
    n_rows = len(results) + len(scores) + len(spans)
    with tempfile.TemporaryDirectory() as tmp:
        bare = bare_seconds(Path(tmp) / "bare.duckdb", results, scores, spans)
        ours = goldgate_seconds(Path(tmp) / "goldgate.duckdb", results, scores, spans, args.group)
        with duckdb.connect(str(Path(tmp) / "goldgate.duckdb"), read_only=True) as con:
            stored = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("results", "scores", "spans"))
    assert stored == n_rows, (stored, n_rows)
    print(f"{len(results):,} results, {len(scores):,} scores, {len(spans):,} spans ({n_rows:,} rows)")
    print(f"bare DuckDB Arrow insert, one transaction: {bare:6.2f} s  {n_rows / bare:>10,.0f} rows/s")
    print(f"goldgate write_batch, {args.group:,} results a group: {ours:6.2f} s  {n_rows / ours:>10,.0f} rows/s")
    print(f"ratio goldgate / bare (rows per second): {bare / ours:.2f}")


if __name__ == "__main__":
    main()
