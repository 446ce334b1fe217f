"""A synthetic store at any scale, for the dashboard's scale benchmark: runs of one golden set with
results, scores and summaries, an eval trace per run (example, generation and scorer spans), serving
traffic (server and generation spans) to make up the span count, and gate verdicts. Bulk-inserted
with DuckDB SQL, so a million spans take seconds.

    python bench/make_store.py OUT.duckdb --runs 200 --examples 500 --spans 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.analysis.report import build_summary  # noqa: E402
from evals.golden.dataset import load_golden_set  # noqa: E402
from evals.golden.subset import Subset  # noqa: E402
from evals.run.record import run_record  # noqa: E402
from evals.run.suite import Suite  # noqa: E402
from evals.store.results import create_run, finish_run  # noqa: E402
from evals.store.store import Store  # noqa: E402

SCORERS = ("exact_match", "contains_any", "token_f1")
SPANS_PER_RESULT = 2 + len(SCORERS)  # the example, its generation, one per scorer
INTENTS = ("factual", "math", "code", "refusal", "format")


def write_golden(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({
        "id": f"q{i:05d}", "input": f"Question {i}: what is {i} plus {i}?", "expected": {"answer": str(2 * i)},
        "labels": {"intent": INTENTS[i % len(INTENTS)], "difficulty": "hard" if i % 4 == 0 else "easy"}}) + "\n"
        for i in range(n)), encoding="utf-8")
    return path


def generate(db: Path, *, runs: int, examples: int, spans: int) -> None:
    store = Store(db)
    golden = load_golden_set(write_golden(db.with_suffix(".jsonl"), examples))
    suite = Suite(name="scale", dataset=golden.path, scorers=[{"name": s} for s in SCORERS],
                  slices=("intent", "difficulty"), holdout=0.0)
    run_ids = [f"scale-{r:04d}" for r in range(runs)]
    for r, run_id in enumerate(run_ids):
        create_run(store, run_record(run_id, suite, golden, examples, Subset(), tag="baseline" if r == 0 else None,
                                     model_id="synthetic-135m", model_digest="0" * 64, endpoint=None))
    serving = max(spans - runs * examples * SPANS_PER_RESULT, 0) // 2  # requests, two spans each
    with store.write() as con:
        con.execute("UPDATE runs SET started_at = TIMESTAMP '2026-11-01' + INTERVAL (r) HOUR FROM "
                    "(SELECT run_id AS id, row_number() OVER (ORDER BY run_id) AS r FROM runs) WHERE run_id = id")
        con.execute("CREATE TEMP TABLE ex AS SELECT * FROM read_json_auto(?)", [str(golden.path)])
        con.execute(_RESULTS, {"runs": runs})
        con.execute(_SCORES, {"scorers": list(SCORERS)})
        con.execute(_EVAL_SPANS, {"scorers": list(SCORERS)})
        con.execute(_SERVING_SPANS, {"n": serving})
    first = build_summary(store, run_ids[0])
    for run_id in run_ids:
        finish_run(store, run_id, first.model_copy(update={"run_id": run_id}))
    second = run_ids[min(1, runs - 1)]
    store.add_gate_result(second, run_ids[0], 0, {"checks": []})


_RESULTS = """
INSERT INTO results (run_id, example_id, epoch, holdout, labels, input_sha256, output, finish_reason, prompt_tokens,
                     completion_tokens, latency_s, ttft_s, cached, error, created_at, trace_id, span_id,
                     generation_span_id)
SELECT printf('scale-%04d', r), ex.id, 0, false, to_json(ex.labels), md5(ex.input),
       CASE WHEN hash(r, ex.id) % 3 = 0 THEN ex.expected.answer ELSE 'I think ' || ex.id END, 'stop',
       40 + hash(ex.id) % 20, 10 + hash(r, ex.id) % 50, 0.5 + (hash(r, ex.id) % 1000) / 1000.0, 0.05, false, NULL,
       TIMESTAMP '2026-11-01' + INTERVAL (r) HOUR, printf('%032x', r), printf('%016x', r * 1000000 + row_number()
       OVER (PARTITION BY r ORDER BY ex.id)), printf('%016x', 900000000000 + r * 1000000 + row_number()
       OVER (PARTITION BY r ORDER BY ex.id))
FROM range($runs) t(r), ex"""

_SCORES = """
INSERT INTO scores
SELECT run_id, example_id, 0, s, CASE WHEN output LIKE 'I think%' THEN 0.0 ELSE 1.0 END, ''
FROM results, unnest($scorers) u(s)"""

_EVAL_SPANS = """
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time, status_code, attributes,
                   events, run_id, example_id, model, duration_s, ttft_s, tpot_s, input_tokens, output_tokens,
                   error_type, finish_reason, requests_waiting, kv_cache_usage)
SELECT trace_id, span_id, NULL, 'eval_example ' || example_id, 'INTERNAL', created_at,
       created_at + to_microseconds((latency_s * 1e6)::BIGINT), 'UNSET',
       json_object('goldgate.run.id', run_id, 'goldgate.example.id', example_id), '[]', run_id, example_id,
       NULL, latency_s, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM results
UNION ALL
SELECT trace_id, generation_span_id, span_id, 'chat synthetic-135m', 'INTERNAL', created_at,
       created_at + to_microseconds((latency_s * 1e6)::BIGINT), 'UNSET',
       json_object('gen_ai.operation.name', 'chat', 'gen_ai.request.model', 'synthetic-135m',
                   'gen_ai.usage.input_tokens', prompt_tokens, 'gen_ai.usage.output_tokens', completion_tokens),
       '[]', run_id, example_id, 'synthetic-135m', latency_s, ttft_s, (latency_s - ttft_s) / completion_tokens,
       prompt_tokens, completion_tokens, NULL, 'stop', hash(example_id) % 32, (hash(example_id) % 100) / 100.0
FROM results
UNION ALL
SELECT trace_id, printf('%016x', hash(span_id, s) % 9007199254740991), span_id, 'evaluate ' || s, 'INTERNAL',
       created_at, created_at, 'UNSET', json_object('gen_ai.evaluation.name', s), '[]', run_id, NULL, NULL, 0,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM results, unnest($scorers) u(s)"""

_SERVING_SPANS = """
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time, status_code, attributes,
                   events, run_id, example_id, model, duration_s, ttft_s, tpot_s, input_tokens, output_tokens,
                   error_type, finish_reason, requests_waiting, kv_cache_usage)
WITH req AS (
    SELECT i, printf('%032x', 1000000000 + i) AS trace_id, TIMESTAMP '2026-11-20' + to_microseconds(i * 250000) AS t,
           0.2 + (hash(i) % 3000) / 1000.0 AS latency, 20 + hash(i) % 200 AS out_tokens,
           CASE WHEN hash(i) % 200 = 0 THEN '503' END AS error
    FROM range($n) r(i))
SELECT trace_id, printf('%016x', 2 * i + 1), NULL, 'POST /v1/chat/completions', 'SERVER', t,
       t + to_microseconds((latency * 1e6)::BIGINT), CASE WHEN error IS NULL THEN 'UNSET' ELSE 'ERROR' END,
       json_object('http.response.status_code', coalesce(error, '200')), '[]', NULL, NULL, NULL, latency, NULL, NULL,
       NULL, NULL, error, NULL, NULL, NULL
FROM req
UNION ALL
SELECT trace_id, printf('%016x', 2 * i + 2), printf('%016x', 2 * i + 1), 'chat synthetic-135m', 'INTERNAL', t,
       t + to_microseconds((latency * 1e6)::BIGINT), 'UNSET',
       json_object('gen_ai.operation.name', 'chat', 'gen_ai.request.model', 'synthetic-135m',
                   'gen_ai.usage.output_tokens', out_tokens), '[]', NULL, NULL, 'synthetic-135m', latency,
       latency / 10, latency * 0.9 / out_tokens, 50, out_tokens, NULL, 'stop', hash(i) % 64, (hash(i) % 100) / 100.0
FROM req WHERE error IS NULL"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", type=Path)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--spans", type=int, default=1_000_000)
    args = ap.parse_args()
    if args.db.exists():
        sys.exit(f"{args.db} exists; give a new path")
    generate(args.db, runs=args.runs, examples=args.examples, spans=args.spans)
    with Store(args.db).read() as con:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "results", "spans")}
    print(f"{args.db}: {counts}")


if __name__ == "__main__":
    main()
