"""Two runs on the same golden set, example by example: what changed, by how much, and whether it is
more than noise. The gate turns this into an exit code; the CLI prints it."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evals.analysis.report import DIMENSIONS, per_example_values, suite_pass_at
from evals.errors import EvalInputError
from evals.golden.subset import Subset
from evals.scorers.refusal import is_refusal
from evals.stats.paired import mcnemar, paired_bootstrap
from evals.stats.power import holm, min_detectable_effect, noise_floor
from evals.store.comparisons import epoch_scores, guard_rail_inputs, replicate_summaries
from evals.store.store import Store

SEED = 0


@dataclass(frozen=True)
class MetricDiff:
    metric: str
    slice_key: str  # "all" for the whole split
    slice_value: str
    n: int  # examples in both runs
    a: float
    b: float
    diff: float  # b - a
    low: float
    high: float
    excludes_zero: bool
    mcnemar_p: float | None  # binary metrics only
    holm_p: float | None  # McNemar p, Holm-corrected over this metric's slices
    noise_floor: float | None  # run-to-run spread of the baseline, when epochs or replicates show it
    mde: float | None  # the smallest change this many examples can detect (80% power, two-sided 5%)


@dataclass(frozen=True)
class GuardRail:
    name: str
    a: float
    b: float

    @property
    def change(self) -> float:
        return self.b - self.a


@dataclass
class Comparison:
    run_a: str
    run_b: str
    split: str
    shared_only: bool  # the datasets differ and only shared example ids were compared
    n_examples: int
    diffs: list[MetricDiff] = field(default_factory=list)
    flips: dict[str, dict[str, Any]] = field(default_factory=dict)  # binary metrics: per-example transitions
    guard_rails: list[GuardRail] = field(default_factory=list)
    unpaired: dict[str, str] = field(default_factory=dict)  # judge -> why its scores were not paired


def _values(store: Store, record: dict[str, Any], split: str
            ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    run_id = record["run_id"]
    if record["status"] != "completed":
        raise EvalInputError(f"run {run_id} is still {record['status']}; finish it with --resume", field="run")
    by_metric: dict[str, dict[str, float]] = defaultdict(dict)
    labels: dict[str, dict[str, str]] = {}
    for example_id, holdout, lab, metric, value in per_example_values(store, run_id, record["judges"],
                                                                      suite_pass_at(record)):
        if split == "all" or (split == "holdout") == holdout:
            by_metric[metric][example_id] = value
            labels[example_id] = lab
    return by_metric, labels


def check_comparable(a: dict, b: dict, allow_different: bool) -> bool:
    """True when only the shared examples can be compared (different datasets, allowed). Runs on different
    subsets of one set are never paired: their shared examples are not a sample of either."""
    if a["dataset_sha256"] == b["dataset_sha256"]:
        subset_a, subset_b = Subset.from_settings(a["settings"]), Subset.from_settings(b["settings"])
        if subset_a != subset_b:
            raise EvalInputError(f"runs {a['run_id']} and {b['run_id']} are on different subsets of "
                                 f"{a['dataset_name']} ({subset_a.describe()}, {subset_b.describe()}); "
                                 "run both on the same --limit or --sample, --stratify and --seed", field="runs")
        return False
    if not allow_different:
        raise EvalInputError(f"runs {a['run_id']} and {b['run_id']} are on different golden sets "
                             f"({a['dataset_name']} sha256 {a['dataset_sha256'][:12]} and {b['dataset_name']} "
                             f"sha256 {b['dataset_sha256'][:12]}); pass --allow-different-datasets to compare "
                             "their shared examples", field="runs")
    return True


def compare(store: Store, run_a: str, run_b: str, *, split: str = "public", allow_different: bool = False,
            n_resamples: int = 10_000) -> Comparison:
    rec_a, rec_b = store.run_record(run_a), store.run_record(run_b)
    shared_only = check_comparable(rec_a, rec_b, allow_different)
    (va, labels), (vb, _) = _values(store, rec_a, split), _values(store, rec_b, split)
    slices = tuple(rec_a["settings"]["suite"]["slices"])
    noise = _noise(store, rec_a, split, slices)
    out = Comparison(run_a, run_b, split, shared_only, len(set(labels)), unpaired=unpaired_judges(rec_a, rec_b))
    for metric in sorted(va.keys() & vb.keys(), key=lambda m: (m in DIMENSIONS, m)):
        judge = metric.split("/")[0] if "/" in metric else None
        if judge in out.unpaired or (judge == "ensemble" and out.unpaired):
            continue
        ids = sorted(va[metric].keys() & vb[metric].keys())
        if not ids:
            continue
        a = np.array([va[metric][i] for i in ids])
        b = np.array([vb[metric][i] for i in ids])
        binary = bool(np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all())
        groups = [("all", "all", np.ones(len(ids), dtype=bool))]
        for key in slices:
            values = np.array([labels[i].get(key, "(unlabelled)") for i in ids])
            groups += [(key, v, values == v) for v in sorted(set(values))]
        rows = [_diff(metric, key, value, a[m], b[m], binary, noise.get((metric, key, value)), n_resamples)
                for key, value, m in groups]
        pvalues = [r.mcnemar_p for r in rows if r.mcnemar_p is not None]
        adjusted = iter(holm(pvalues)) if pvalues else iter(())
        out.diffs += [r if r.mcnemar_p is None else _with_holm(r, float(next(adjusted))) for r in rows]
        if binary:
            out.flips[metric] = _flips(ids, a, b)
    out.guard_rails = guard_rails(store, run_a, run_b)
    return out


def unpaired_judges(rec_a: dict[str, Any], rec_b: dict[str, Any]) -> dict[str, str]:
    """Judges of one name in both runs whose prompts differ: the same name is no promise of the same
    rubric, and a difference of their scores would measure the edit, not the models."""
    sha_a = {j["judge_id"]: j["prompt_sha256"] for j in rec_a["judges"]}
    return {j["judge_id"]: f"its prompt differs between the runs (sha256 {sha_a[j['judge_id']][:12]} in A, "
                           f"{j['prompt_sha256'][:12]} in B)"
            for j in rec_b["judges"] if j["judge_id"] in sha_a and sha_a[j["judge_id"]] != j["prompt_sha256"]}


def _with_holm(r: MetricDiff, p: float) -> MetricDiff:
    return MetricDiff(**{**r.__dict__, "holm_p": p})


def _diff(metric: str, key: str, value: str, a: np.ndarray, b: np.ndarray, binary: bool, floor: float | None,
          n_resamples: int) -> MetricDiff:
    n = a.size
    if n >= 2:
        r = paired_bootstrap(a, b, n_resamples=n_resamples, seed=SEED)
        low, high = r.low, r.high
    else:
        low = high = float(b.mean() - a.mean())
    p = mcnemar(a == 1, b == 1).pvalue if binary else None
    mde = None
    if binary and n >= 2:
        base = float(np.clip(a.mean(), 0.02, 0.98))
        discordant = max(float((a != b).mean()), 1 / n)
        mde = min_detectable_effect(n, base, paired=True, discordance=min(discordant, 1.0))
    return MetricDiff(metric, key, value, n, float(a.mean()), float(b.mean()), float(b.mean() - a.mean()), low, high,
                      bool(low > 0 or high < 0), p, None, floor, None if mde is None or mde != mde else mde)


def _flips(ids: list[str], a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    return {"pass_to_fail": [i for i, x, y in zip(ids, a, b) if x == 1 and y == 0],
            "fail_to_pass": [i for i, x, y in zip(ids, a, b) if x == 0 and y == 1],
            "stayed_pass": int(((a == 1) & (b == 1)).sum()), "stayed_fail": int(((a == 0) & (b == 0)).sum())}


MAX_REPLICATES = 20  # the newest replicates make the noise floor; older ones describe an older system


def _noise(store: Store, baseline: dict, split: str, slices: tuple[str, ...]) -> dict[tuple[str, str, str], float]:
    """Run-to-run spread of each (metric, slice) of the baseline: from its epochs, or else from
    replicate runs (same dataset, subset, model, prompt and tag) already in the store."""
    per_run: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    if baseline["epochs"] > 1:
        rows = epoch_scores(store, baseline["run_id"], split)
        by_epoch: dict[tuple[str, str, str, int], list[float]] = defaultdict(list)
        for epoch, metric, labels, value in rows:
            lab = json.loads(labels)
            by_epoch[(metric, "all", "all", epoch)].append(value)
            for key in slices:
                by_epoch[(metric, key, lab.get(key, "(unlabelled)"), epoch)].append(value)
        for (metric, key, value, _), values in by_epoch.items():
            per_run[(metric, key, value)].append(float(np.mean(values)))
    else:
        for summary in replicate_summaries(store, baseline, Subset.from_settings(baseline["settings"]).settings(),
                                           MAX_REPLICATES):
            for m in summary.metrics:
                if m.split == split:
                    per_run[(m.metric, m.slice_key, m.slice_value)].append(m.estimate)
    return {k: noise_floor(v).floor for k, v in per_run.items() if len(v) >= 2}


def guard_rails(store: Store, run_a: str, run_b: str) -> list[GuardRail]:
    values = []
    for run_id in (run_a, run_b):
        latency, tokens, total, cost, outputs, judged, failed = guard_rail_inputs(store, run_id)
        values.append({"latency_p95_s": latency or 0.0, "mean_output_tokens": tokens or 0.0,
                       "mean_total_tokens": total or 0.0, "cost_per_example": cost,
                       "refusal_rate": float(np.mean([is_refusal(o) for o in outputs])) if outputs else 0.0,
                       "judge_parse_failure_rate": failed / judged if judged else 0.0})
    return [GuardRail(name, values[0][name], values[1][name]) for name in values[0]  # cost: when both were priced
            if values[0][name] is not None and values[1][name] is not None]
