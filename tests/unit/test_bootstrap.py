"""`bootstrap_ci` against `scipy.stats.bootstrap`.

Two checks. Given the very same bootstrap distribution (scipy accepts one through
`bootstrap_result`), both must compute the same percentile and BCa interval to 1e-9. Drawing
their own resamples, both must agree within Monte-Carlo tolerance: goldgate draws 32-bit indices,
and draws multinomial counts for the mean of a few distinct values. The distribution is the same,
but the draws are not.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from evals.stats.bootstrap import bootstrap_ci, bootstrap_distribution

KINDS = ("normal", "bernoulli", "exponential", "quarters")
CASES = [(kind, n, seed) for kind in KINDS for n, seed in ((8, 1), (40, 2), (300, 3))]


def sample(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return {"normal": rng.normal(size=n), "bernoulli": rng.binomial(1, 0.7, n).astype(float),
            "exponential": rng.exponential(size=n), "quarters": rng.integers(0, 5, n) / 4}[kind]


def scipy_interval(x: np.ndarray, statistic, method: str, dist: np.ndarray):
    given = SimpleNamespace(bootstrap_distribution=dist)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns where its BCa is undefined; the test checks that case
        return stats.bootstrap((x,), statistic, n_resamples=0, bootstrap_result=given, method=method)


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("statistic", [np.mean, np.median], ids=["mean", "median"])
@pytest.mark.parametrize(("kind", "n", "seed"), CASES)
def test_same_distribution_same_interval_as_scipy(kind, n, seed, statistic, method) -> None:
    x = sample(kind, n, seed)
    ours = bootstrap_ci(x, statistic, method=method, n_resamples=2000, seed=seed)
    dist = bootstrap_distribution(x, statistic, 2000, np.random.default_rng(seed))
    ref = scipy_interval(x, statistic, method, dist)
    if np.isnan(ref.confidence_interval.low):  # scipy gives up when the jackknife has no spread; see bootstrap.py
        assert method == "bca" and np.min(x) <= ours.low <= ours.high <= np.max(x)
        return
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=1e-9)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=1e-9)
    assert ours.standard_error == pytest.approx(ref.standard_error, rel=1e-9)
    assert ours.estimate == pytest.approx(statistic(x))


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize(("kind", "n", "seed"), [(k, n, s) for k, n, s in CASES if n >= 40])
def test_own_draws_agree_with_scipy_within_monte_carlo_tolerance(kind, n, seed, method) -> None:
    x = sample(kind, n, seed)
    ours = bootstrap_ci(x, method=method, n_resamples=40_000, seed=seed)
    ref = stats.bootstrap((x,), np.mean, method=method, n_resamples=40_000, rng=seed + 100)
    # a 2.5% quantile of 40,000 draws moves by about 0.015 SE; discrete means also step by 1/n
    tolerance = 0.1 * ref.standard_error + (1 / n if kind in ("bernoulli", "quarters") else 0)
    assert abs(ours.low - ref.confidence_interval.low) <= tolerance
    assert abs(ours.high - ref.confidence_interval.high) <= tolerance
    assert ours.standard_error == pytest.approx(ref.standard_error, rel=0.03)


def test_blocks_of_resamples_give_the_same_interval_as_one_draw(monkeypatch) -> None:
    x = sample("normal", 500, 7)
    whole = bootstrap_ci(x, seed=3, n_resamples=3000)
    monkeypatch.setattr("evals.stats.bootstrap._BLOCK_ELEMENTS", 500 * 7)  # 7 resamples per block
    assert bootstrap_ci(x, seed=3, n_resamples=3000) == whole


def test_degenerate_inputs_have_defined_answers() -> None:
    same = bootstrap_ci([1.0, 1.0, 1.0], seed=0)
    assert (same.low, same.estimate, same.high, same.standard_error) == (1.0, 1.0, 1.0, 0.0)
    with pytest.warns(RuntimeWarning, match="single item"):
        one = bootstrap_ci([0.4])
    assert one.low == one.high == 0.4
    with pytest.raises(ValueError, match="no items"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="method"):
        bootstrap_ci([1.0, 2.0], method="basic")
