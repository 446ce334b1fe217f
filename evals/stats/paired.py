"""Paired comparisons of two systems on the same examples: bootstrap of the per-example difference,
and McNemar's test for paired right/wrong outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import bdtr, chdtrc  # not scipy.stats: it costs half a second to import

from evals.stats.bootstrap import bootstrap_distribution, check_sample


@dataclass(frozen=True)
class PairedBootstrapResult:
    mean_difference: float  # mean of b - a
    low: float
    high: float
    standard_error: float
    p_b_better: float  # share of resamples in which b's mean beats a's
    n: int
    confidence: float


def check_pair(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    x, y = check_sample(a, name="a"), check_sample(b, name="b")
    if x.size != y.size:
        raise ValueError(f"a and b must score the same examples: {x.size} values against {y.size}")
    return x, y


def paired_bootstrap(a: object, b: object, *, confidence: float = 0.95, n_resamples: int = 10_000,
                     seed: int | np.random.Generator | None = None) -> PairedBootstrapResult:
    """Percentile CI of mean(b - a), resampling examples (both systems move together)."""
    x, y = check_pair(a, b)
    diff = y - x
    return _summarize(diff, bootstrap_distribution(diff, np.mean, n_resamples, np.random.default_rng(seed)),
                      confidence)


def paired_bootstrap_by_slice(a: object, b: object, slices: object, *, confidence: float = 0.95,
                              n_resamples: int = 10_000, seed: int | np.random.Generator | None = None,
                              ) -> dict[str, PairedBootstrapResult]:
    """`paired_bootstrap` within each slice (examples resampled inside their own slice), one generator for all."""
    x, y = check_pair(a, b)
    labels = np.asarray(slices, dtype=object)
    if labels.shape != x.shape:
        raise ValueError(f"slices must label every example: {labels.shape[0] if labels.ndim else 0} labels "
                         f"for {x.size} examples")
    rng, diff = np.random.default_rng(seed), y - x
    out = {}
    for label in sorted(set(labels.tolist()), key=str):
        d = diff[labels == label]
        out[label] = _summarize(d, bootstrap_distribution(d, np.mean, n_resamples, rng), confidence)
    return out


def _summarize(diff: np.ndarray, dist: np.ndarray, confidence: float) -> PairedBootstrapResult:
    alpha = (1 - confidence) / 2
    low, high = np.quantile(dist, [alpha, 1 - alpha])
    se = float(dist.std(ddof=1)) if dist.size > 1 else 0.0
    return PairedBootstrapResult(float(diff.mean()), float(low), float(high), se, float((dist > 0).mean()),
                                 diff.size, confidence)


@dataclass(frozen=True)
class McNemarResult:
    b: int  # a right, b wrong
    c: int  # a wrong, b right
    statistic: float  # min(b, c) for the exact test; the continuity-corrected chi-square otherwise
    pvalue: float
    exact: bool


EXACT_BELOW = 25  # discordant pairs under this: the chi-square approximation is poor, use the binomial


def mcnemar(a_correct: object, b_correct: object, *, exact: bool | None = None) -> McNemarResult:
    """McNemar's test that a and b are right equally often; `exact=None` picks by b + c."""
    x, y = (np.asarray(v, dtype=bool) for v in (a_correct, b_correct))
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a_correct and b_correct must be 1-D and the same length, got {x.shape} and {y.shape}")
    b, c = int((x & ~y).sum()), int((~x & y).sum())
    use_exact = (b + c) < EXACT_BELOW if exact is None else exact
    if b + c == 0:  # no discordant pair: no evidence of any difference
        return McNemarResult(b, c, 0.0, 1.0, use_exact)
    if use_exact:
        p = 2 * bdtr(min(b, c), b + c, 0.5)  # the two-sided binomial test: Binomial(b + c, 1/2) is symmetric
        return McNemarResult(b, c, float(min(b, c)), float(min(1.0, p)), True)
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return McNemarResult(b, c, float(statistic), float(chdtrc(1, statistic)), False)  # chi-squared(1) survival
