"""`bootstrap_ci` against `scipy.stats.bootstrap`: with the same seed both draw the same resamples."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from evals.stats import bootstrap_ci

CASES = [(kind, n, seed) for kind in ("normal", "bernoulli", "exponential") for n, seed in ((5, 1), (40, 2), (300, 3))]


def sample(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return {"normal": rng.normal(size=n), "bernoulli": rng.binomial(1, 0.7, n).astype(float),
            "exponential": rng.exponential(size=n)}[kind]


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("statistic", [np.mean, np.median], ids=["mean", "median"])
@pytest.mark.parametrize(("kind", "n", "seed"), CASES)
def test_interval_equals_scipy_with_the_same_resamples(kind, n, seed, statistic, method) -> None:
    x = sample(kind, n, seed)
    if np.ptp(x) == 0:
        pytest.skip("all values equal: scipy warns and returns NaN; covered by the degenerate test")
    ours = bootstrap_ci(x, statistic, method=method, n_resamples=2000, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's BCa warns on near-degenerate medians
        ref = stats.bootstrap((x,), statistic, method=method, n_resamples=2000, rng=seed)
    if np.isnan(ref.confidence_interval.low):  # scipy gives up when the jackknife has no spread
        assert method == "bca" and np.min(x) <= ours.low <= ours.estimate <= ours.high <= np.max(x)
        return
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=1e-9)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=1e-9)
    assert ours.standard_error == pytest.approx(ref.standard_error, rel=1e-9)
    assert ours.estimate == pytest.approx(statistic(x))


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
