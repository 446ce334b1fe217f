"""Bootstrap confidence intervals, shaped like `scipy.stats.bootstrap` but vectorised over resamples.

Indices are drawn in blocks (bounded memory) and the statistic is applied to a whole block at a
time, so 10,000 resamples cost a few array reductions, not a Python loop; the mean of discrete
scores is faster still (see `bootstrap_distribution`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
from scipy.special import ndtr, ndtri

Statistic = Callable[..., np.ndarray]  # statistic(sample, axis=-1), like numpy's reductions
Method = Literal["percentile", "bca"]
_BLOCK_ELEMENTS = 1 << 22  # resampled values held in memory at once


@dataclass(frozen=True)
class BootstrapResult:
    estimate: float
    low: float
    high: float
    standard_error: float
    n: int
    confidence: float
    method: Method


def check_sample(values: object, *, name: str = "values") -> np.ndarray:
    sample = np.asarray(values, dtype=float)
    if sample.ndim != 1:
        raise ValueError(f"{name}: expected one value per item (1-D), got shape {sample.shape}")
    if sample.size == 0:
        raise ValueError(f"{name}: no items")
    if np.isnan(sample).any():
        raise ValueError(f"{name}: contains NaN; drop or impute missing items first")
    return sample


def bootstrap_distribution(sample: np.ndarray, statistic: Statistic, n_resamples: int,
                           rng: np.random.Generator) -> np.ndarray:
    """The statistic on `n_resamples` resamples with replacement: shape [n_resamples].

    For the mean of a sample with few distinct values (pass/fail scores, paired differences in
    {-1, 0, 1}, partial credit in quarters) a resample is fully described by how many times each
    distinct value was drawn, which is multinomial: drawing those counts costs O(distinct values)
    per resample instead of O(n), and gives exactly the same distribution as drawing indices.
    """
    n = sample.size
    if statistic is np.mean:
        values, counts = np.unique(sample, return_counts=True)
        if values.size <= n // 16:
            draws = rng.multinomial(n, counts / n, size=n_resamples)  # [n_resamples, distinct]
            return draws @ values / n
    block = max(1, _BLOCK_ELEMENTS // n)
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n), dtype=np.int32 if n < 2**31 else np.int64)  # [block, n]
        out[start:stop] = statistic(sample[idx], axis=-1)
    return out


def jackknife(sample: np.ndarray, statistic: Statistic) -> np.ndarray:
    """The statistic with each item left out in turn: shape [n]."""
    n = sample.size
    if statistic is np.mean:
        return (sample.sum() - sample) / (n - 1)
    out = np.empty(n)
    block = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        keep = np.arange(n)[None, :] != rows[:, None]  # [block, n]: row i drops item i
        out[rows] = statistic(np.broadcast_to(sample, keep.shape)[keep].reshape(rows.size, n - 1), axis=-1)
    return out


def bootstrap_ci(values: object, statistic: Statistic = np.mean, *, confidence: float = 0.95,
                 n_resamples: int = 10_000, method: Method = "percentile",
                 seed: int | np.random.Generator | None = None) -> BootstrapResult:
    """A two-sided interval for `statistic(values)`.

    Fewer than two items, or items that are all equal, give an interval that collapses to the
    estimate (with a warning for the former): there is no spread to resample.
    """
    sample = check_sample(values)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples: must be positive, got {n_resamples}")
    if method not in ("percentile", "bca"):
        raise ValueError(f"method: 'percentile' or 'bca', got {method!r}")
    estimate = float(statistic(sample, axis=-1))
    if sample.size < 2 or np.ptp(sample) == 0:
        if sample.size < 2:
            warnings.warn("bootstrap of a single item: the interval is the point", RuntimeWarning, stacklevel=2)
        return BootstrapResult(estimate, estimate, estimate, 0.0, sample.size, confidence, method)
    rng = np.random.default_rng(seed)
    dist = bootstrap_distribution(sample, statistic, n_resamples, rng)
    alpha = (1 - confidence) / 2
    if method == "bca":
        lo_q, hi_q = _bca_quantiles(sample, statistic, estimate, dist, alpha)
    else:
        lo_q, hi_q = alpha, 1 - alpha
    low, high = np.quantile(dist, [lo_q, hi_q])
    return BootstrapResult(estimate, float(low), float(high), float(dist.std(ddof=1)), sample.size, confidence, method)


def _bca_quantiles(sample: np.ndarray, statistic: Statistic, estimate: float, dist: np.ndarray,
                   alpha: float) -> tuple[float, float]:
    """Efron's bias-corrected and accelerated levels (Efron & Tibshirani 1993, 14.3)."""
    z0 = ndtri(((dist < estimate).sum() + (dist <= estimate).sum()) / (2 * dist.size))
    n = sample.size
    loo = jackknife(sample, statistic)
    u = (n - 1) * (loo.mean() - loo)
    spread = (u**2).sum()
    # every leave-one-out estimate equal (e.g. a median of repeated values): no skew to correct for,
    # so the acceleration is 0 and the interval is bias-corrected only (scipy returns NaN here)
    accel = 0.0 if spread == 0 else (u**3).sum() / n**3 / (6 * (spread / n**2) ** 1.5)
    levels = []
    for z_alpha in (ndtri(alpha), ndtri(1 - alpha)):
        levels.append(float(ndtr(z0 + (z0 + z_alpha) / (1 - accel * (z0 + z_alpha)))))
    return levels[0], levels[1]
