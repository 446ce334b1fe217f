"""What comparing two runs asks of the store: per-epoch scores for the noise floor, the summaries of
replicate runs, and the inputs of the guard rails (latency, tokens, answers, judge failures)."""

from __future__ import annotations

import json
from typing import Any, Sequence

from evals.store.store import Store
from evals.store.summary import RunSummary, load_summary

REPLICATE_KEYS = ("dataset_sha256", "model_digest", "model_id", "prompt_sha256", "tag")  # what makes a replicate


def epoch_scores(store: Store, run_id: str, split: str) -> list[tuple[int, str, str, float]]:
    """(epoch, metric, labels JSON, mean over the epoch's examples) for one split (public, holdout or all)."""
    with store.read() as con:
        return con.execute(
            "SELECT s.epoch, s.scorer, r.labels, avg(s.value) FROM scores s JOIN results r USING "
            "(run_id, example_id, epoch) WHERE s.run_id = ? AND (? = 'all' OR r.holdout = (? = 'holdout')) "
            "GROUP BY ALL", [run_id, split, split]).fetchall()


def replicate_summaries(store: Store, record: dict[str, Any], subset: dict[str, Any], limit: int) -> list[RunSummary]:
    """The newest `limit` completed runs like `record` (same dataset, model, prompt and tag) whose settings
    choose the same examples (`subset`: the settings keys that do, with `record`'s values)."""
    kept = []
    with store.read() as con:
        rows = con.execute(
            f"SELECT settings, summary FROM runs WHERE status = 'completed' AND summary IS NOT NULL AND "
            f"{' AND '.join(f'{k} IS NOT DISTINCT FROM ?' for k in REPLICATE_KEYS)} ORDER BY started_at DESC",
            [*(record[k] for k in REPLICATE_KEYS)])
        while len(kept) < limit and (row := rows.fetchone()) is not None:
            settings = json.loads(row[0])
            if {k: settings.get(k) for k in subset} == subset:
                kept.append(load_summary(row[1]))
    return kept


def guard_rail_inputs(store: Store, run_id: str) -> tuple[float | None, float | None, float | None, float | None,
                                                         Sequence[str], int, int]:
    """p95 latency, mean output and total tokens, cost per example (None: not priced), the answers, and
    judged / unusable judge replies."""
    with store.read() as con:
        latency, tokens, total = con.execute(
            "SELECT quantile_cont(latency_s, 0.95), avg(completion_tokens), avg(prompt_tokens + completion_tokens) "
            "FROM results WHERE run_id = ? AND error IS NULL", [run_id]).fetchone()
        cost = con.execute("SELECT sum(cost) / count(DISTINCT example_id) FROM results WHERE run_id = ?",
                           [run_id]).fetchone()[0]
        outputs = [o for (o,) in con.execute("SELECT output FROM results WHERE run_id = ? AND error IS NULL",
                                              [run_id]).fetchall()]
        judged, failed = con.execute("SELECT count(*), count(*) FILTER (WHERE outcome <> 'scored') FROM judgments "
                                     "WHERE run_id = ? AND dimension = 'overall'", [run_id]).fetchone()
    return latency, tokens, total, cost, outputs, judged, failed
