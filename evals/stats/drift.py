"""Two-sample tests for drift between a baseline and a current window of traffic, each with an effect size
and a p-value or a CI: a numeric feature by the Kolmogorov–Smirnov test and the population stability
index, a category mix by the chi-square test and the Jensen–Shannon divergence, a rate by Fisher's exact
test and Newcombe's CI of the difference, and word distributions by the Jensen–Shannon divergence with a
permutation p-value (09 §10)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import sparse, stats
from scipy.spatial.distance import jensenshannon

PSI_FLOOR = 1e-4  # an empty bin's share, so that ln(c/b) stays finite


@dataclass(frozen=True)
class DriftTest:
    effect: float  # PSI, JS divergence (bits) or the rate's change (current - baseline)
    pvalue: float
    baseline: float  # a summary of each window: the median, the rate, the number of distinct values
    current: float
    low: float | None = None  # a CI of the effect, where there is one
    high: float | None = None


def psi(baseline: Sequence[float], current: Sequence[float], *, bins: int = 10) -> float:
    """The population stability index over the baseline's deciles (ties merged): sum (c - b) ln(c / b)
    over bins. Under 0.1 is read as stable, over 0.25 as a shift."""
    b, c = np.asarray(baseline, dtype=float), np.asarray(current, dtype=float)
    edges = np.unique(np.quantile(b, np.linspace(0, 1, bins + 1)[1:-1]))
    b_share = np.bincount(np.searchsorted(edges, b, side="right"), minlength=edges.size + 1) / b.size
    c_share = np.bincount(np.searchsorted(edges, c, side="right"), minlength=edges.size + 1) / c.size
    b_share, c_share = np.maximum(b_share, PSI_FLOOR), np.maximum(c_share, PSI_FLOOR)
    return float(np.sum((c_share - b_share) * np.log(c_share / b_share)))


def numeric_drift(baseline: Sequence[float], current: Sequence[float]) -> DriftTest:
    """PSI as the effect, the two-sample KS test's p-value."""
    ks = stats.ks_2samp(baseline, current)
    return DriftTest(psi(baseline, current), float(ks.pvalue), float(np.median(baseline)), float(np.median(current)))


def category_drift(baseline: Sequence[str], current: Sequence[str]) -> DriftTest:
    """The JS divergence (bits) of the two mixes as the effect, the chi-square test of homogeneity's p."""
    labels = sorted(set(baseline) | set(current))
    counts = np.array([[Counter(w)[label] for label in labels] for w in (baseline, current)], dtype=float)
    pvalue = 1.0 if len(labels) < 2 else float(stats.chi2_contingency(counts[:, counts.sum(axis=0) > 0]).pvalue)
    return DriftTest(_js_bits(counts[0], counts[1]), pvalue, len(set(baseline)), len(set(current)))


def rate_drift(baseline_hits: int, baseline_n: int, current_hits: int, current_n: int, *,
               confidence: float = 0.95) -> DriftTest:
    """The change in a rate with Newcombe's hybrid score CI (from Wilson intervals), and Fisher's exact p."""
    p0, p1 = baseline_hits / baseline_n, current_hits / current_n
    (l0, u0), (l1, u1) = (_wilson(k, n, confidence) for k, n in ((baseline_hits, baseline_n), (current_hits, current_n)))
    d = p1 - p0
    low, high = d - np.hypot(p1 - l1, u0 - p0), d + np.hypot(u1 - p1, p0 - l0)
    table = [[current_hits, current_n - current_hits], [baseline_hits, baseline_n - baseline_hits]]
    return DriftTest(d, float(stats.fisher_exact(table).pvalue), p0, p1, float(low), float(high))


def word_drift(baseline: Sequence[Sequence[str]], current: Sequence[Sequence[str]], *, max_permutations: int = 1999,
               enough_as_large: int = 10, seed: int | np.random.Generator | None = 0) -> DriftTest:
    """The JS divergence (bits) of the two windows' word frequencies; its p-value is the share of random
    splits of the same documents into windows of the same sizes whose divergence is at least as large
    (words within a request are not independent, so no asymptotic test holds). Permutations stop once
    `enough_as_large` were as large (Besag and Clifford's sequential p-value): a window like its baseline
    is settled in a few dozen, a drifted one gets the resolution that survives a multiple-test correction."""
    vocab: dict[str, int] = {}
    docs = [*baseline, *current]
    cells = [(i, vocab.setdefault(word, len(vocab)), n) for i, doc in enumerate(docs) for word, n in Counter(doc).items()]
    rows, cols, vals = zip(*cells) if cells else ((), (), ())
    counts = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), max(len(vocab), 1)), dtype=float)
    split = np.zeros((1, len(docs)), dtype=bool)
    split[0, len(baseline):] = True
    observed = _split_js(counts, split)[0]
    rng, done, as_large = np.random.default_rng(seed), 0, 0
    while done < max_permutations and as_large < enough_as_large:
        batch = min(100, max_permutations - done)
        shuffled = np.array([rng.permutation(split[0]) for _ in range(batch)])
        as_large += int(np.sum(_split_js(counts, shuffled) >= observed - 1e-12))
        done += batch
    pvalue = as_large / done if as_large >= enough_as_large else (1 + as_large) / (done + 1)
    return DriftTest(observed, float(pvalue), float(np.mean([len(d) for d in baseline])),
                     float(np.mean([len(d) for d in current])))


def _split_js(counts: sparse.csr_matrix, current: np.ndarray) -> np.ndarray:
    """The JS divergence (bits) between the two windows each row of `current` (a mask over documents) makes."""
    cur = np.asarray((sparse.csr_matrix(current.astype(float)) @ counts).todense())
    base = np.asarray(counts.sum(axis=0)) - cur
    p, q = base / base.sum(axis=1, keepdims=True), cur / cur.sum(axis=1, keepdims=True)
    return np.array([_js_bits(a, b) for a, b in zip(p, q)])


def _js_bits(p: np.ndarray, q: np.ndarray) -> float:
    """The Jensen–Shannon divergence in bits (scipy gives the distance, its square root)."""
    if not p.sum() or not q.sum():
        return 0.0
    return float(jensenshannon(p, q, base=2) ** 2)


def _wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)
