"""Per-slice paired bootstrap CIs: goldgate's `paired_bootstrap_by_slice` vs `scipy.stats.bootstrap` per slice.

20 slices, 10,000 examples (500 a slice), 10,000 resamples, percentile 95% intervals of the mean
per-example difference b - a, as the gate computes them. Two kinds of metric: pass/fail outcomes
(differences in {-1, 0, 1}, most metrics a gate watches) and a continuous score (token F1 and the
like). scipy gets the same data one slice at a time, vectorised, with the same method. Best of
three runs each; the ratio scipy / goldgate for pass/fail outcomes is printed last.
"""

from __future__ import annotations

import time

import numpy as np
import scipy
from scipy import stats

from evals.stats.paired import paired_bootstrap_by_slice

SLICES, ITEMS, RESAMPLES = 20, 10_000, 10_000


def data(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "pass/fail":
        a = (rng.random(ITEMS) < 0.7).astype(float)
        b = np.where(rng.random(ITEMS) < 0.85, a, (rng.random(ITEMS) < 0.72).astype(float))
    else:
        a = rng.beta(2, 2, ITEMS)
        b = np.clip(a + rng.normal(0.01, 0.1, ITEMS), 0, 1)
    return a, b, np.array([f"slice-{i % SLICES:02d}" for i in range(ITEMS)])


def with_goldgate(a: np.ndarray, b: np.ndarray, slices: np.ndarray) -> dict:
    return {k: (r.low, r.high) for k, r in paired_bootstrap_by_slice(a, b, slices, n_resamples=RESAMPLES,
                                                                         seed=1).items()}


def with_scipy(a: np.ndarray, b: np.ndarray, slices: np.ndarray) -> dict:
    out = {}
    for label in sorted(set(slices)):
        inside = slices == label
        ci = stats.bootstrap((b[inside] - a[inside],), np.mean, n_resamples=RESAMPLES, method="percentile",
                             rng=1).confidence_interval
        out[label] = (ci.low, ci.high)
    return out


def best_of_three(fn, *args) -> tuple[float, dict]:
    times, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    print(f"numpy {np.__version__}, scipy {scipy.__version__}; {SLICES} slices, {ITEMS} examples, "
          f"{RESAMPLES} resamples, percentile 95% CI of the paired mean difference")
    ratios = {}
    for kind in ("continuous", "pass/fail"):
        a, b, slices = data(kind)
        ours_s, ours = best_of_three(with_goldgate, a, b, slices)
        ref_s, ref = best_of_three(with_scipy, a, b, slices)
        gap = max(abs(ours[k][i] - ref[k][i]) for k in ref for i in (0, 1))
        ratios[kind] = ref_s / ours_s
        print(f"{kind:>10}: scipy per slice {ref_s:6.3f} s, goldgate {ours_s:6.3f} s, "
              f"ratio {ratios[kind]:5.1f}x; largest endpoint gap {gap:.4f}")
    print(f"ratio scipy/goldgate (pass/fail outcomes): {ratios['pass/fail']:.1f}x")


if __name__ == "__main__":
    main()
