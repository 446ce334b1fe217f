"""A run's report: every metric, overall and per slice, as a point estimate with a 95% bootstrap CI and N.

Epochs are averaged within an example before resampling, so the interval is over examples (the
unit that was sampled), not over repeated answers to the same example. The public split and the
private holdout are reported apart and never pooled. A judge's rubric dimensions are metrics like any
scorer's; with several judges, their median overall score and their spread are metrics too.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from evals.stats.bootstrap import bootstrap_ci
from evals.stats.power import pass_at_k
from evals.store.results import per_example_values as stored_values
from evals.store.results import pass_counts, run_costs, run_counts
from evals.store.store import Store
from evals.store.summary import CostPerCorrect, CostSummary, MetricRow, RunSummary

# recorded, not scored: not bounded to [0, 1] (cost: per answer, only when the run was priced)
DIMENSIONS = ("completion_tokens", "total_tokens", "latency_s", "cost")
BOOTSTRAP_SEED = 0  # reports are reproducible: the same rows give the same intervals


def per_example_values(store: Store, run_id: str, judges: list[dict[str, Any]], pass_at: Sequence[int] = ()
                       ) -> list[tuple[str, bool, dict[str, str], str, float]]:
    """(example id, holdout, labels, metric, value averaged over epochs), sorted for reproducible resampling;
    with `pass_at`, each pass/fail scorer's `SCORER_pass@K` per example: the unbiased estimator over its n
    answers (examples with fewer than k are left out)."""
    rows = stored_values(store, run_id, DIMENSIONS)
    counts = pass_counts(store, run_id) if pass_at else []
    rows += [(e, h, labels, f"{scorer}_pass@{k}", pass_at_k(n, c, k))
             for k in pass_at for e, h, labels, scorer, n, c in counts if n >= k]
    if len(judges) > 1:  # an ensemble: the median of the judges' overall scores, and how far apart they were
        overall_names = {f"{j['judge_id']}/overall" for j in judges}
        overall: dict[str, list] = defaultdict(list)  # example -> [holdout, labels, overall scores...]
        for e, h, labels, metric, v in rows:
            if metric in overall_names:
                overall[e] = overall[e] or [h, labels]
                overall[e].append(v)
        for e, (h, labels, *scores) in overall.items():
            rows.append((e, h, labels, "ensemble/overall", statistics.median(scores)))
            rows.append((e, h, labels, "ensemble/disagreement", max(scores) - min(scores)))
    return [(e, h, json.loads(labels), m, v) for e, h, labels, m, v in rows if v is not None]


def metric_rows(store: Store, run_id: str, slices: tuple[str, ...], judges: list[dict[str, Any]],
                pass_at: Sequence[int] = ()) -> list[MetricRow]:
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for _, holdout, labels, metric, value in per_example_values(store, run_id, judges, pass_at):
        split = "holdout" if holdout else "public"
        groups[(metric, split, "all", "all")].append(value)
        for key in slices:
            groups[(metric, split, key, labels.get(key, "(unlabelled)"))].append(value)
    rows = []
    for (metric, split, key, val), values in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        ci = bootstrap_ci(values, seed=BOOTSTRAP_SEED) if len(values) > 1 else None
        est = ci.estimate if ci else values[0]
        rows.append(MetricRow(metric=metric, split=split, slice_key=key, slice_value=val, n=len(values), estimate=est,
                              low=ci.low if ci else est, high=ci.high if ci else est))
    return rows


def suite_pass_at(record: dict[str, Any]) -> tuple[int, ...]:
    """The k's a run's suite asks pass@k for (runs stored before pass@k existed ask none)."""
    return tuple(record["settings"]["suite"].get("pass_at_k", ()))


def _order(key: tuple[str, str, str, str]) -> tuple:
    metric, split, slice_key, value = key
    return (split != "public", slice_key != "all", slice_key, value, metric in DIMENSIONS, metric)


def build_summary(store: Store, run_id: str) -> RunSummary:
    record = store.run_record(run_id)
    slices = tuple(record["settings"]["suite"]["slices"])
    keep = ("run_id", "suite_name", "tag", "dataset_name", "dataset_sha256", "n_examples", "epochs", "model_id",
            "model_digest", "endpoint", "prompt_sha256", "judges", "git_commit", "git_dirty", "goldgate_version")
    return RunSummary(**{k: record[k] for k in keep}, started_at=record["started_at"].isoformat() + "Z",
                      counts=run_counts(store, run_id),
                      metrics=metric_rows(store, run_id, slices, record["judges"], suite_pass_at(record)),
                      cost=cost_summary(store, run_id, record["settings"].get("prices")))


def cost_summary(store: Store, run_id: str, prices: dict[str, Any] | None) -> CostSummary | None:
    """Totals, cost per example, and per pass/fail scorer the cost of a correct answer with its CI."""
    if prices is None:
        return None
    answers, judges, per_example, passes = run_costs(store, run_id)
    public = [(e, c) for e, holdout, c in per_example if not holdout]
    costs = np.array([c for _, c in public])
    index = {e: i for i, (e, _) in enumerate(public)}
    correct: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(public)))
    for example_id, scorer, n in passes:
        if example_id in index:
            correct[scorer][index[example_id]] = n
    return CostSummary(currency=prices["currency"], prices_version=prices["version"], answers=answers or 0.0,
                       judges=judges or 0.0, per_example=(answers or 0.0) / max(len(per_example), 1),
                       per_correct=[_per_correct(scorer, costs, n) for scorer, n in sorted(correct.items())])


def _per_correct(scorer: str, costs: np.ndarray, correct: np.ndarray) -> CostPerCorrect:
    """sum(cost) / sum(correct), resampled by example: the bootstrap draws example indices, and the
    statistic is the ratio over the drawn examples (a ratio of sums, not a mean of ratios)."""
    n = int(correct.sum())
    if n == 0:
        return CostPerCorrect(scorer=scorer, n_correct=0, estimate=None, low=None, high=None)

    def ratio(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        drawn = idx.astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            return costs[drawn].sum(axis=axis) / correct[drawn].sum(axis=axis)

    ci = bootstrap_ci(np.arange(len(costs), dtype=float), ratio, seed=BOOTSTRAP_SEED) if len(costs) > 1 else None
    estimate = float(costs.sum() / n)
    return CostPerCorrect(scorer=scorer, n_correct=n, estimate=estimate, low=ci.low if ci else estimate,
                          high=ci.high if ci else estimate)
