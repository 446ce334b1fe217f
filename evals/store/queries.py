"""The dashboard's questions to the store, as SQL with bound parameters; each returns a DataFrame.
Aggregation happens here, in DuckDB, so a page only draws what comes back."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS

from evals.store.spans import attribute_sql
from evals.store.summary import metric_struct

_METRIC = metric_struct()  # the stored summary's metric rows, as its model declares them, for from_json
GENERATION = "kind = 'INTERNAL' AND input_tokens IS NOT NULL"  # an engine's generation span
Con = duckdb.DuckDBPyConnection


def _df(con: Con, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def runs(con: Con) -> pd.DataFrame:
    """Every run with its tokens and time, and whether its golden set is the one its dataset name has now."""
    return _df(con, """
        WITH usage AS (
            SELECT run_id, count(*) AS results, count(error) AS errors,
                   sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) AS tokens,
                   sum(latency_s) AS generation_s
            FROM results GROUP BY run_id),
        latest AS (SELECT dataset_name, arg_max(dataset_sha256, started_at) AS sha FROM runs GROUP BY dataset_name)
        SELECT r.run_id, r.suite_name, r.tag, r.status, r.dataset_name, r.dataset_sha256, r.model_id, r.started_at,
               r.finished_at, coalesce(u.results, 0) AS results, coalesce(u.errors, 0) AS errors,
               coalesce(u.tokens, 0) AS tokens, u.generation_s, r.dataset_sha256 = l.sha AS comparable
        FROM runs r LEFT JOIN usage u USING (run_id) JOIN latest l USING (dataset_name)
        ORDER BY r.started_at DESC""")


def headline_metrics(con: Con) -> pd.DataFrame:
    """Each completed run's whole-split public metrics with their CIs, for the trend charts."""
    return _df(con, f"""
        SELECT run_id, dataset_name, dataset_sha256, started_at, m.metric, m.estimate, m.low, m.high, m.n
        FROM (SELECT *, unnest(from_json(summary->'$.metrics', '{_METRIC}')) AS m FROM runs
              WHERE status = 'completed')
        WHERE m.slice_key = 'all' AND m.split = 'public'
        ORDER BY started_at""")


def latest_gate(con: Con, run_id: str) -> dict[str, Any] | None:
    row = con.execute("SELECT baseline_run_id, passed, n_failed, created_at FROM gate_results "
                      "WHERE candidate_run_id = ? ORDER BY created_at DESC LIMIT 1", [run_id]).fetchone()
    return None if row is None else dict(zip(("baseline", "passed", "n_failed", "at"), row))


def gate_of(con: Con, candidate: str, baseline: str) -> dict[str, Any] | None:
    """The latest gate verdict on this candidate against this baseline, with its checks."""
    row = con.execute("SELECT passed, n_failed, report, created_at FROM gate_results WHERE candidate_run_id = ? "
                      "AND baseline_run_id = ? ORDER BY created_at DESC LIMIT 1", [candidate, baseline]).fetchone()
    if row is None:
        return None
    return {"passed": row[0], "n_failed": row[1], "checks": json.loads(row[2]).get("checks", []), "at": row[3]}


def cost_per_day(con: Con) -> pd.DataFrame:
    """What generations cost per UTC day, by model and feature (generation spans carry their cost)."""
    return _df(con, """
        SELECT date_trunc('day', end_time) AS day, model, coalesce(feature, '(none)') AS feature,
               sum(cost) AS cost, count(*) AS generations
        FROM spans WHERE cost IS NOT NULL AND model IS NOT NULL GROUP BY ALL ORDER BY day, model, feature""")


def run_metrics(con: Con, run_id: str) -> pd.DataFrame:
    """A run's metrics by split and slice: estimate, CI, N."""
    return _df(con, f"""
        SELECT m.metric, m.split, m.slice_key, m.slice_value, m.estimate, m.low, m.high, m.n
        FROM (SELECT unnest(from_json(summary->'$.metrics', '{_METRIC}')) AS m FROM runs WHERE run_id = ?)
        ORDER BY m.metric, m.split, m.slice_key <> 'all', m.slice_key, m.slice_value""", [run_id])


def slices(con: Con, run_id: str) -> pd.DataFrame:
    """The (label, value) pairs a run's examples carry, for filtering."""
    return _df(con, """
        SELECT DISTINCT k AS slice_key, labels->>k AS slice_value
        FROM (SELECT labels, unnest(json_keys(labels)) AS k FROM results WHERE run_id = ?)
        ORDER BY ALL""", [run_id])


def examples(con: Con, run_id: str, *, slice_key: str | None = None, slice_value: str | None = None,
             outcome: str | None = None, min_latency_s: float | None = None, min_cost: float | None = None,
             limit: int = 200) -> pd.DataFrame:
    """A run's answers with every score and the judges' rationales. Outcome: error (no answer), fail (a
    score below 1), pass; `min_latency_s`, `min_cost`: only answers at least this slow, or this costly."""
    return _df(con, """
        WITH scored AS (
            SELECT example_id, epoch, min(value) AS worst,
                   string_agg(scorer || '=' || round(value, 3), ', ' ORDER BY scorer) AS scores
            FROM scores WHERE run_id = $run GROUP BY ALL),
        judged AS (
            SELECT example_id, epoch, string_agg(judge_id || ': ' || rationale, ' | ') AS rationale
            FROM judgments WHERE run_id = $run AND dimension = 'overall' GROUP BY ALL),
        rows AS (
            SELECT r.example_id, r.epoch, r.labels, r.output, r.error, s.scores, j.rationale, r.latency_s,
                   r.cost, r.trace_id, CASE WHEN r.error IS NOT NULL THEN 'error' WHEN s.worst < 1 THEN 'fail'
                                    ELSE 'pass' END AS outcome
            FROM results r LEFT JOIN scored s USING (example_id, epoch) LEFT JOIN judged j USING (example_id, epoch)
            WHERE r.run_id = $run)
        SELECT * FROM rows
        WHERE ($key IS NULL OR labels->>$key = $value) AND ($outcome IS NULL OR outcome = $outcome)
          AND ($slow IS NULL OR latency_s >= $slow) AND ($costly IS NULL OR cost >= $costly)
        ORDER BY example_id, epoch LIMIT $limit""",
               {"run": run_id, "key": slice_key, "value": slice_value, "outcome": outcome, "slow": min_latency_s,
                "costly": min_cost, "limit": limit})


def calibrations(con: Con) -> pd.DataFrame:
    return _df(con, """
        SELECT calibration_id, judge_id, judge_model_id, dimension, n_items, kappa, kappa_low, kappa_high, verdict,
               report, created_at
        FROM calibrations ORDER BY created_at DESC, dimension""")


def models(con: Con) -> list[str]:
    return [m for (m,) in con.execute(f"SELECT DISTINCT model FROM spans WHERE {GENERATION} ORDER BY 1").fetchall()]


def _span_filter(model: str | None, run_id: str | None) -> tuple[str, dict[str, Any]]:
    return ("($model IS NULL OR model = $model) AND ($run IS NULL OR run_id = $run)",
            {"model": model, "run": run_id})


def latency_percentiles(con: Con, model: str | None, run_id: str | None) -> pd.DataFrame:
    """p50/p95/p99 of time to first token, time per output token and total latency, in seconds."""
    where, params = _span_filter(model, run_id)
    return _df(con, f"""
        UNPIVOT (
            SELECT quantile_cont(ttft_s, [0.5, 0.95, 0.99]) AS time_to_first_token,
                   quantile_cont(tpot_s, [0.5, 0.95, 0.99]) AS time_per_output_token,
                   quantile_cont(duration_s, [0.5, 0.95, 0.99]) AS total_latency,
                   count(*) AS requests
            FROM spans WHERE {GENERATION} AND {where})
        ON time_to_first_token, time_per_output_token, total_latency INTO NAME signal VALUE p""", params)


def latency_histogram(con: Con, model: str | None, run_id: str | None, bins: int = 30) -> pd.DataFrame:
    """Counts per log-spaced bin of each latency signal (bins computed in SQL, not from raw rows)."""
    where, params = _span_filter(model, run_id)
    return _df(con, f"""
        WITH v AS (
            UNPIVOT (SELECT ttft_s AS time_to_first_token, tpot_s AS time_per_output_token,
                            duration_s AS total_latency FROM spans WHERE {GENERATION} AND {where})
            ON time_to_first_token, time_per_output_token, total_latency INTO NAME signal VALUE seconds),
        b AS (SELECT signal, floor(log10(greatest(seconds, 1e-6)) * $per_decade) AS bin FROM v)
        SELECT signal, pow(10, bin / $per_decade) AS low, pow(10, (bin + 1) / $per_decade) AS high,
               count(*) AS requests
        FROM b GROUP BY ALL ORDER BY signal, low""", {**params, "per_decade": bins / 6})


def decode_rate_histogram(con: Con, model: str | None, run_id: str | None, bins: int = 30) -> pd.DataFrame:
    """Counts per log-spaced bin of each generation's decode rate (output tokens per second after the first,
    1 / time per output token), where a slow batch or a preempted request shows as a left tail."""
    where, params = _span_filter(model, run_id)
    return _df(con, f"""
        WITH b AS (SELECT floor(log10(1 / tpot_s) * $per_decade) AS bin FROM spans
                   WHERE {GENERATION} AND tpot_s > 0 AND {where})
        SELECT pow(10, bin / $per_decade) AS low, pow(10, (bin + 1) / $per_decade) AS high, count(*) AS requests
        FROM b GROUP BY ALL ORDER BY low""", {**params, "per_decade": bins / 4})


def traffic(con: Con, model: str | None, run_id: str | None) -> pd.DataFrame:
    """Per time bucket: requests and tokens per second, queue depth, KV cache use (the most) and the prefix
    cache's hit rate (prompt tokens found cached, of all prompt tokens)."""
    where, params = _span_filter(model, run_id)
    return _df(con, f"""
        WITH g AS (SELECT * FROM spans WHERE {GENERATION} AND {where}),
        span AS (SELECT greatest(epoch(max(end_time)) - epoch(min(end_time)), 1) AS s FROM g),
        width AS (SELECT greatest(ceil(s / 120), 1)::INTEGER AS w FROM span)
        SELECT time_bucket(to_seconds((SELECT w FROM width)), end_time) AS t,
               count(*) / (SELECT w FROM width) AS requests_per_s,
               sum(coalesce(output_tokens, 0)) / (SELECT w FROM width) AS output_tokens_per_s,
               avg(requests_waiting) AS queue_depth, max(kv_cache_usage) AS kv_cache_usage,
               sum(coalesce(TRY_CAST({attribute_sql(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)} AS BIGINT), 0))
                   / nullif(sum(input_tokens), 0) AS prefix_cache_hit_rate
        FROM g GROUP BY t ORDER BY t""", params)


def error_counts(con: Con, model: str | None, run_id: str | None) -> dict[str, int]:
    """The three error classes: API (4xx/5xx answers, failed generations), validation (judge replies that
    failed their structure), guardrail (content_filter finishes)."""
    where, params = _span_filter(model, run_id)
    api, guardrail = con.execute(f"""
        SELECT count(*) FILTER (WHERE error_type IS NOT NULL AND (kind = 'SERVER' OR {GENERATION})),
               count(*) FILTER (WHERE finish_reason = 'content_filter')
        FROM spans WHERE (kind = 'SERVER' OR {where})""", params).fetchone()
    (validation,) = con.execute("SELECT count(*) FROM judgments WHERE outcome = 'parse_error' "
                                "AND ($run IS NULL OR run_id = $run)", {"run": run_id}).fetchone()
    return {"api": api, "validation": validation, "guardrail": guardrail}


def find_traces(con: Con, *, trace_id: str | None = None, example_id: str | None = None,
                limit: int = 50) -> pd.DataFrame:
    """Traces by id or by example (in any run): their root span, start, duration and size. A run's traces,
    one per example, are found through `examples`."""
    return _df(con, """
        WITH hits AS (
            SELECT DISTINCT trace_id FROM spans
            WHERE ($trace IS NULL OR trace_id = $trace) AND ($example IS NULL OR example_id = $example)
            LIMIT $limit)
        SELECT s.trace_id, arg_min(s.name, s.start_time) AS root, min(s.start_time) AS start,
               epoch(max(s.end_time)) - epoch(min(s.start_time)) AS duration_s, count(*) AS spans
        FROM spans s JOIN hits USING (trace_id) GROUP BY s.trace_id ORDER BY start DESC""",
               {"trace": trace_id, "example": example_id, "limit": limit})


def trace_spans(con: Con, trace_id: str, example_id: str | None = None) -> pd.DataFrame:
    """A trace's spans (only one example's, in a run's trace, when `example_id` is given), with their start
    and end in seconds from the first."""
    return _df(con, """
        WITH t AS (SELECT * FROM spans WHERE trace_id = $trace),
        picked AS (
            SELECT * FROM t WHERE $example IS NULL OR example_id = $example
               OR parent_span_id IN (SELECT span_id FROM t WHERE example_id = $example))
        SELECT span_id, parent_span_id, name, kind, status_code, start_time, end_time,
               epoch(start_time) - min(epoch(start_time)) OVER () AS start_s,
               epoch(end_time) - min(epoch(start_time)) OVER () AS end_s, attributes, events
        FROM picked ORDER BY start_time, name""", {"trace": trace_id, "example": example_id})


def answers_to_label(con: Con, run_id: str) -> pd.DataFrame:
    """A run's answers (first epoch) with the labels already given to them, and why an answer is queued
    for people first: its judges disagree among themselves, or a judge disagrees with a person's label.
    Queued answers come first, each part in id order."""
    return _df(con, """
        WITH run AS (SELECT dataset_sha256 FROM runs WHERE run_id = $run),
        verdicts AS (SELECT example_id, judge_id, dimension, score FROM judgments
                     WHERE run_id = $run AND epoch = 0 AND outcome = 'scored'),
        among_judges AS (
            SELECT example_id, 'judges disagree on ' || dimension AS why FROM verdicts
            GROUP BY example_id, dimension HAVING count(DISTINCT judge_id) > 1 AND max(score) > min(score)),
        with_people AS (
            SELECT DISTINCT v.example_id, v.judge_id || ' says ' || v.score::INTEGER || ' on ' || v.dimension
                   || ', ' || h.rater || ' says ' || h.label AS why
            FROM verdicts v JOIN human_labels h ON h.example_id = v.example_id AND h.dimension = v.dimension
            WHERE h.dataset_sha256 = (SELECT dataset_sha256 FROM run) AND v.score != TRY_CAST(h.label AS DOUBLE)),
        queue AS (SELECT example_id, string_agg(why, '; ' ORDER BY why) AS queued
                  FROM (SELECT * FROM among_judges UNION ALL SELECT * FROM with_people) GROUP BY example_id)
        SELECT r.example_id, r.output, count(h.label) AS labels, any_value(q.queued) AS queued
        FROM results r
        LEFT JOIN human_labels h ON h.dataset_sha256 = (SELECT dataset_sha256 FROM run) AND h.example_id = r.example_id
        LEFT JOIN queue q ON q.example_id = r.example_id
        WHERE r.run_id = $run AND r.epoch = 0 AND r.error IS NULL
        GROUP BY r.example_id, r.output ORDER BY any_value(q.queued) IS NULL, r.example_id""", {"run": run_id})
