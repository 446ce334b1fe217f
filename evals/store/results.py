"""A run's answers and scores, and the generation cache: written a batch per transaction (a crash loses
at most the batch in flight), read back for resuming, reports and comparisons."""

from __future__ import annotations

from typing import Any, Sequence

import duckdb

from evals.store.batch import insert_rows
from evals.store.spans import insert_spans
from evals.store.store import Store, now
from evals.store.summary import RunSummary
from telemetry.sinks import SpanRecord

RESULT_COLUMNS = ("run_id", "example_id", "epoch", "holdout", "labels", "input_sha256", "output", "finish_reason",
                  "prompt_tokens", "completion_tokens", "latency_s", "ttft_s", "cached", "error", "created_at",
                  "trace_id", "span_id", "generation_span_id", "cost")
SCORE_COLUMNS = ("run_id", "example_id", "epoch", "scorer", "value", "explanation")
CACHE_COLUMNS = ("cache_key", "output", "finish_reason", "prompt_tokens", "completion_tokens", "latency_s", "ttft_s")
Row = dict[str, Any]


def remember(con: duckdb.DuckDBPyConnection, generations: Sequence[Row]) -> None:
    """Fresh deterministic answers into the generation cache (CACHE_COLUMNS each), in the caller's transaction."""
    created = now()
    insert_rows(con, "generations", (*CACHE_COLUMNS, "created_at"), [{**g, "created_at": created} for g in generations],
                verb="INSERT OR IGNORE")


def cached_generations(store: Store, keys: Sequence[str]) -> dict[str, Row]:
    """The cached answers for these keys, by key (CACHE_COLUMNS each)."""
    if not keys or not store.path.exists():
        return {}
    with store.read() as con:
        rows = con.execute(f"SELECT {', '.join(CACHE_COLUMNS)} FROM generations WHERE cache_key IN (SELECT unnest($k))",
                           {"k": list(keys)}).fetchall()
    return {r[0]: dict(zip(CACHE_COLUMNS, r)) for r in rows}


def store_generations(store: Store, generations: Sequence[Row]) -> None:
    if generations:
        with store.write() as con:
            remember(con, generations)


def write_batch(store: Store, results: Sequence[Row], scores: Sequence[Row], generations: Sequence[Row],
                spans: Sequence[SpanRecord] = ()) -> None:
    """One group of answers in one transaction: results (RESULT_COLUMNS but created_at), their scores
    (SCORE_COLUMNS), the fresh answers for the cache and the spans that explain them."""
    created = now()
    with store.write() as con:
        insert_rows(con, "results", RESULT_COLUMNS, [{**r, "created_at": created} for r in results])
        insert_rows(con, "scores", SCORE_COLUMNS, scores)
        remember(con, generations)
        insert_spans(con, spans)


def create_run(store: Store, record: Row) -> None:
    with store.write() as con:
        con.execute(f"INSERT INTO runs ({', '.join(record)}) VALUES ({', '.join('?' * len(record))})",
                    list(record.values()))


def finish_run(store: Store, run_id: str, summary: RunSummary, spans: Sequence[SpanRecord] = ()) -> None:
    """Mark the run completed with its summary, and store its last spans (the run's own among them)."""
    with store.write() as con:
        con.execute("UPDATE runs SET status = 'completed', finished_at = ?, summary = ? WHERE run_id = ?",
                    [now(), summary.model_dump_json(), run_id])
        insert_spans(con, spans)


def mark_run(store: Store, run_id: str, status: str) -> None:
    """running (again, on resume), failed or interrupted: a run whose process stopped is never left running."""
    with store.write() as con:
        con.execute("UPDATE runs SET status = ? WHERE run_id = ?", [status, run_id])


def failure_counts(store: Store, run_id: str) -> tuple[int, int, str | None, dict[str, tuple[int, int, str | None]]]:
    """Results, failed generations and the first failure; per judge: answers with a verdict, answers
    judged, and the first problem."""
    with store.read() as con:
        results, errors, first = con.execute(
            "SELECT count(*), count(error), min(error) FROM results WHERE run_id = ?", [run_id]).fetchall()[0]
        judged = con.execute(
            "SELECT judge_id, count(*) FILTER (WHERE outcome = 'scored'), count(*), "
            "min(rationale) FILTER (WHERE outcome <> 'scored') FROM judgments "
            "WHERE run_id = ? AND dimension = 'overall' GROUP BY judge_id", [run_id]).fetchall()
    return results, errors, first, {j: (scored, calls, problem) for j, scored, calls, problem in judged}


def pending_answers(store: Store, run_id: str, judge_id: str) -> list[Row]:
    """The run's successful answers this judge has not judged yet, with the spans they hang under."""
    cols = ("example_id", "epoch", "output", "trace_id", "span_id", "generation_span_id")
    with store.read() as con:
        rows = con.execute(f"""
            SELECT {', '.join('r.' + c for c in cols)} FROM results r
            WHERE r.run_id = ? AND r.error IS NULL AND NOT EXISTS (
                SELECT 1 FROM judgments j WHERE j.run_id = r.run_id AND j.example_id = r.example_id
                AND j.epoch = r.epoch AND j.judge_id = ?)
            ORDER BY ALL""", [run_id, judge_id]).fetchall()
    return [dict(zip(cols, r)) for r in rows]


def per_example_values(store: Store, run_id: str, dimensions: Sequence[str]) -> list[tuple]:
    """(example id, holdout, labels JSON, metric, value averaged over epochs), sorted: every score (the
    scorers' and the judges' alike), then the recorded `dimensions` (completion_tokens, total_tokens,
    latency_s, cost) of the successful answers."""
    with store.read() as con:
        return con.execute("""
            SELECT example_id, any_value(holdout), any_value(labels), scorer, avg(value)
            FROM scores JOIN results USING (run_id, example_id, epoch)
            WHERE run_id = $run GROUP BY example_id, scorer
            UNION ALL
            SELECT example_id, any_value(holdout), any_value(labels), unnest($dims),
                   unnest([avg(completion_tokens), avg(prompt_tokens + completion_tokens), avg(latency_s), avg(cost)])
            FROM results WHERE run_id = $run AND error IS NULL GROUP BY example_id
            ORDER BY 4, 1""", {"run": run_id, "dims": list(dimensions)}).fetchall()


def pass_counts(store: Store, run_id: str) -> list[tuple]:
    """(example id, holdout, labels JSON, scorer, answers scored, answers passed) for each scorer whose
    every score in the run is pass (1) or fail (0)."""
    with store.read() as con:
        return con.execute("""
            WITH pass_fail AS (SELECT scorer FROM scores WHERE run_id = $run GROUP BY scorer
                               HAVING bool_and(value IN (0, 1)))
            SELECT example_id, any_value(holdout), any_value(labels), scorer, count(*), sum(value)::INTEGER
            FROM scores JOIN results USING (run_id, example_id, epoch)
            WHERE run_id = $run AND scorer IN (SELECT scorer FROM pass_fail) AND scorer NOT LIKE '%/%'
            GROUP BY example_id, scorer ORDER BY 4, 1""", {"run": run_id}).fetchall()


def run_costs(store: Store, run_id: str) -> tuple[float | None, float | None, list[tuple], list[tuple]]:
    """What the answers and the judge calls cost in all (None: not priced); per example (id, holdout, what
    its answers cost over every epoch); and per (example, pass/fail scorer) its passes, as (id, scorer, n)."""
    with store.read() as con:
        answers = con.execute("SELECT sum(cost) FROM results WHERE run_id = ?", [run_id]).fetchone()[0]
        judges = con.execute("SELECT sum(cost) FROM judgments WHERE run_id = ? AND dimension = 'overall'",
                             [run_id]).fetchone()[0]
        per_example = con.execute("SELECT example_id, any_value(holdout), sum(cost) FROM results WHERE run_id = ? "
                                  "GROUP BY 1 HAVING count(cost) > 0 ORDER BY 1", [run_id]).fetchall()
        passes = con.execute(
            "SELECT example_id, scorer, count(*) FILTER (WHERE value = 1) FROM scores WHERE run_id = $run AND scorer "
            "IN (SELECT scorer FROM scores WHERE run_id = $run GROUP BY 1 HAVING bool_and(value IN (0, 1))) "
            "GROUP BY 1, 2 ORDER BY 2, 1", {"run": run_id}).fetchall()
    return answers, judges, per_example, passes


def run_counts(store: Store, run_id: str) -> dict[str, int]:
    with store.read() as con:
        total, errors, cached = con.execute(
            "SELECT count(*), count(error), count(*) FILTER (WHERE cached) FROM results WHERE run_id = ?",
            [run_id]).fetchone()
        unusable = con.execute("SELECT count(DISTINCT (example_id, epoch, judge_id)) FROM judgments "
                               "WHERE run_id = ? AND outcome <> 'scored'", [run_id]).fetchone()[0]
    return {"results": total, "errors": errors, "cached": cached, "judge_failures": unusable}
