"""Chance-corrected agreement: Cohen's kappa (two raters), Fleiss' kappa (many raters, complete),
Krippendorff's alpha (any raters, missing ratings, four levels of measurement).

Each returns NaN, documented, when chance agreement is total (every rating the same label): the
statistic is 0/0 there, and no number would be honest. `interpret_kappa` calls that "undefined".
"""

from __future__ import annotations

import math
from typing import Callable, Literal, Sequence

import numpy as np

from evals.stats.bootstrap import BootstrapResult

Weights = Literal["linear", "quadratic"] | None
Level = Literal["nominal", "ordinal", "interval", "ratio"]


def _labels_in_order(*rating_lists: Sequence, labels: Sequence | None) -> list:
    if labels is not None:
        return list(labels)
    seen = {x for ratings in rating_lists for x in ratings}
    return sorted(seen)


def cohen_kappa(r1: Sequence, r2: Sequence, *, weights: Weights = None, labels: Sequence | None = None) -> float:
    """Cohen's kappa of two raters over the same items; weighted kappa treats the labels' order as a scale.

    `labels` fixes the categories and, for weighted kappa, their order (default: sorted).
    """
    if len(r1) != len(r2):
        raise ValueError(f"r1 and r2 must rate the same items: {len(r1)} ratings against {len(r2)}")
    if len(r1) == 0:
        raise ValueError("no items")
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights: None, 'linear' or 'quadratic', got {weights!r}")
    cats = _labels_in_order(r1, r2, labels=labels)
    index = {c: i for i, c in enumerate(cats)}
    unknown = [x for x in (*r1, *r2) if x not in index]
    if unknown:
        raise ValueError(f"rating {unknown[0]!r} is not one of the labels {cats}")
    k = len(cats)
    observed = np.zeros((k, k))
    np.add.at(observed, ([index[x] for x in r1], [index[x] for x in r2]), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    i, j = np.indices((k, k))
    w = {None: (i != j).astype(float), "linear": np.abs(i - j), "quadratic": (i - j) ** 2}[weights]
    chance = (w * expected).sum()
    return float("nan") if chance == 0 else float(1 - (w * observed).sum() / chance)


def fleiss_kappa(ratings: Sequence[Sequence]) -> float:
    """Fleiss' kappa of items × raters labels; every item needs the same number (>= 2) of ratings."""
    rows = [list(r) for r in ratings]
    if not rows:
        raise ValueError("no items")
    m = len(rows[0])
    if m < 2 or any(len(r) != m for r in rows):
        raise ValueError("every item needs the same number of ratings, at least two; "
                         "use krippendorff_alpha for missing ratings")
    cats = _labels_in_order(*rows, labels=None)
    index = {c: i for i, c in enumerate(cats)}
    counts = np.zeros((len(rows), len(cats)))  # [items, categories]
    for item, r in enumerate(rows):
        for x in r:
            counts[item, index[x]] += 1
    p_cat = counts.sum(0) / counts.sum()
    p_item = ((counts * (counts - 1)).sum(1)) / (m * (m - 1))
    chance = (p_cat**2).sum()
    return float("nan") if chance == 1 else float((p_item.mean() - chance) / (1 - chance))


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def krippendorff_alpha(data: Sequence[Sequence], *, level: Level = "nominal") -> float:
    """Krippendorff's alpha of raters × items data; None or NaN marks a missing rating.

    Items with fewer than two ratings carry no pairable information and are left out. Ordinal
    values are ranked by their sort order; interval and ratio values must be numbers.
    """
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"level: nominal, ordinal, interval or ratio, got {level!r}")
    units = [[x for x in column if not _missing(x)] for column in zip(*data)]
    units = [u for u in units if len(u) >= 2]
    if not units:
        raise ValueError("no item has two or more ratings")
    values = sorted({x for u in units for x in u})
    index = {v: i for i, v in enumerate(values)}
    coincidence = np.zeros((len(values), len(values)))
    for u in units:
        counts = np.bincount([index[x] for x in u], minlength=len(values)).astype(float)
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (len(u) - 1)
    n_v = coincidence.sum(1)
    n = n_v.sum()
    delta = _distance(level, values, n_v)
    expected = (np.outer(n_v, n_v) - np.diag(n_v)) * delta  # pairs drawn without replacement
    disagreement_expected = expected.sum() / (n - 1)
    if disagreement_expected == 0:
        return float("nan")
    return float(1 - (coincidence * delta).sum() / disagreement_expected)


def _distance(level: Level, values: list, n_v: np.ndarray) -> np.ndarray:
    k = len(values)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_v)])
        i, j = np.indices((k, k))
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        return (cum[hi + 1] - cum[lo] - (n_v[i] + n_v[j]) / 2) ** 2
    v = np.asarray(values, dtype=float)
    diff = v[:, None] - v[None, :]
    if level == "interval":
        return diff**2
    total = v[:, None] + v[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, 0.0, (diff / np.where(total == 0, 1, total)) ** 2)


# The one kappa a judge must reach on every calibrated dimension before its scores may gate: the start of
# Landis and Koch's "substantial". A suite's judges are recorded against it; a gate policy defaults to it.
GATING_KAPPA = 0.6
LANDIS_KOCH = ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"))


def interpret_kappa(kappa: float) -> str:
    """The Landis–Koch band: below 0 poor, to 0.20 slight, 0.40 fair, 0.60 moderate, 0.80 substantial,
    above that almost perfect; NaN (no chance-corrected agreement exists) is undefined."""
    if math.isnan(kappa):
        return "undefined"
    if kappa < 0:
        return "poor"
    return next((band for upper, band in LANDIS_KOCH if kappa <= upper), "almost perfect")


def item_bootstrap(statistic: Callable[..., float], *columns: Sequence, confidence: float = 0.95,
                   n_resamples: int = 2000, seed: int | np.random.Generator | None = None,
                   **options: object) -> BootstrapResult:
    """A percentile CI for an agreement statistic by resampling items: each column is one value per item
    (a rater's ratings), and an item's values move together. Resamples where the statistic is
    undefined are dropped; the interval is NaN if most of them are."""
    n = len(columns[0])
    if n < 2 or any(len(c) != n for c in columns):
        raise ValueError("every column needs one value per item, and at least two items")
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(c, dtype=object) for c in columns]
    estimate = statistic(*columns, **options)
    dist = np.array([statistic(*(a[idx].tolist() for a in arrays), **options)
                     for idx in rng.integers(0, n, size=(n_resamples, n))])
    dist = dist[~np.isnan(dist)]
    if dist.size < n_resamples / 2:
        return BootstrapResult(estimate, float("nan"), float("nan"), float("nan"), n, confidence, "percentile")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(dist, [alpha, 1 - alpha])
    return BootstrapResult(estimate, float(low), float(high), float(dist.std(ddof=1)), n, confidence, "percentile")
