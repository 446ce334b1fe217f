"""A run's report: every metric, overall and per slice, as a point estimate with a 95% bootstrap CI and N.

Epochs are averaged within an example before resampling, so the interval is over examples (the
unit that was sampled), not over repeated answers to the same example. The public split and the
private holdout are reported apart and never pooled.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from evals.stats import bootstrap_ci
from evals.store.store import Store

DIMENSIONS = ("completion_tokens", "total_tokens", "latency_s")  # recorded, not scored: not bounded to [0, 1]
BOOTSTRAP_SEED = 0  # reports are reproducible: the same rows give the same intervals


@dataclass(frozen=True)
class MetricRow:
    metric: str
    split: str  # public | holdout
    slice_key: str  # "all" for the whole split
    slice_value: str
    n: int
    estimate: float
    low: float
    high: float


def per_example_values(store: Store, run_id: str, judges: list[dict[str, Any]]
                       ) -> list[tuple[str, bool, dict[str, str], str, float]]:
    """(example id, holdout, labels, metric, value averaged over epochs), sorted for reproducible resampling."""
    with store.read() as con:
        rows = con.execute(
            """
            SELECT example_id, any_value(holdout), any_value(labels), scorer, avg(value)
            FROM scores JOIN results USING (run_id, example_id, epoch)
            WHERE run_id = $run GROUP BY example_id, scorer
            UNION ALL
            SELECT example_id, any_value(holdout), any_value(labels), unnest($dims),
                   unnest([avg(completion_tokens), avg(prompt_tokens + completion_tokens), avg(latency_s)])
            FROM results WHERE run_id = $run AND error IS NULL GROUP BY example_id
            ORDER BY 4, 1
            """, {"run": run_id, "dims": list(DIMENSIONS)}).fetchall()
        judged = con.execute(
            """
            SELECT example_id, any_value(holdout), any_value(labels), judge_id, dimension, avg(score)
            FROM judgments JOIN results USING (run_id, example_id, epoch)
            WHERE run_id = $run AND outcome = 'scored' GROUP BY example_id, judge_id, dimension ORDER BY 4, 5, 1
            """, {"run": run_id}).fetchall()
    scales = {j["judge_id"]: j["scales"] for j in judges}
    overall: dict[str, list] = defaultdict(list)  # example -> [holdout, labels, normalised overall scores...]
    for e, h, labels, judge_id, dim, v in judged:  # judge scores on their own scale, brought to [0, 1]
        lo, hi = scales[judge_id][dim]
        rows.append((e, h, labels, f"{judge_id}/{dim}", (v - lo) / (hi - lo)))
        if dim == "overall":
            overall[e] = overall[e] or [h, labels]
            overall[e].append((v - lo) / (hi - lo))
    if len(judges) > 1:  # an ensemble: the median of the judges' overall scores, and how far apart they were
        for e, (h, labels, *scores) in overall.items():
            rows.append((e, h, labels, "ensemble/overall", statistics.median(scores)))
            rows.append((e, h, labels, "ensemble/disagreement", max(scores) - min(scores)))
    return [(e, h, json.loads(labels), m, v) for e, h, labels, m, v in rows if v is not None]


def metric_rows(store: Store, run_id: str, slices: tuple[str, ...], judges: list[dict[str, Any]]) -> list[MetricRow]:
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for _, holdout, labels, metric, value in per_example_values(store, run_id, judges):
        split = "holdout" if holdout else "public"
        groups[(metric, split, "all", "all")].append(value)
        for key in slices:
            groups[(metric, split, key, labels.get(key, "(unlabelled)"))].append(value)
    rows = []
    for (metric, split, key, val), values in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        ci = bootstrap_ci(values, seed=BOOTSTRAP_SEED) if len(values) > 1 else None
        est = ci.estimate if ci else values[0]
        rows.append(MetricRow(metric, split, key, val, len(values), est, ci.low if ci else est, ci.high if ci else est))
    return rows


def _order(key: tuple[str, str, str, str]) -> tuple:
    metric, split, slice_key, value = key
    return (split != "public", slice_key != "all", slice_key, value, metric in DIMENSIONS, metric)


def run_counts(store: Store, run_id: str) -> dict[str, int]:
    with store.read() as con:
        total, errors, cached = con.execute(
            "SELECT count(*), count(error), count(*) FILTER (WHERE cached) FROM results WHERE run_id = ?",
            [run_id]).fetchone()
        unusable = con.execute("SELECT count(DISTINCT (example_id, epoch, judge_id)) FROM judgments "
                               "WHERE run_id = ? AND outcome <> 'scored'", [run_id]).fetchone()[0]
    return {"results": total, "errors": errors, "cached": cached, "judge_failures": unusable}


def build_summary(store: Store, run_id: str) -> dict[str, Any]:
    record = store.run_record(run_id)
    slices = tuple(record["settings"]["suite"]["slices"])
    keep = ("run_id", "suite_name", "tag", "dataset_name", "dataset_sha256", "n_examples", "epochs", "model_id",
            "model_digest", "endpoint", "prompt_sha256", "judges", "git_commit", "git_dirty", "goldgate_version")
    summary = {k: record[k] for k in keep}
    summary["started_at"] = record["started_at"].isoformat() + "Z"
    summary["counts"] = run_counts(store, run_id)
    summary["metrics"] = [asdict(r) for r in metric_rows(store, run_id, slices, record["judges"])]
    return summary
