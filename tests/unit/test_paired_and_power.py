"""Paired tests, power, pass@k and corrections: against statsmodels and the worked numbers in the literature."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests

from evals.stats.bootstrap import bootstrap_ci
from evals.stats.paired import mcnemar, paired_bootstrap, paired_bootstrap_by_slice
from evals.stats.power import bonferroni, holm, min_detectable_effect, noise_floor, pass_at_k, sample_size


def paired_outcomes(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random(n) < 0.7
    b = np.where(rng.random(n) < 0.85, a, rng.random(n) < 0.75)
    return a, b


@pytest.mark.parametrize("exact", [True, False, None])
@pytest.mark.parametrize("seed", range(30))
def test_mcnemar_equals_statsmodels(seed: int, exact) -> None:
    a, b = paired_outcomes(seed, int(np.random.default_rng(seed).integers(10, 400)))
    ours = mcnemar(a, b, exact=exact)
    table = [[int((a & b).sum()), ours.b], [ours.c, int((~a & ~b).sum())]]
    use_exact = ours.exact
    assert use_exact == (exact if exact is not None else ours.b + ours.c < 25)
    if ours.b + ours.c == 0:
        assert ours.pvalue == 1.0
        return
    ref = sm_mcnemar(table, exact=use_exact, correction=True)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-9)
    assert ours.pvalue == pytest.approx(ref.pvalue, abs=1e-9)


def test_paired_bootstrap_is_the_bootstrap_of_the_differences() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.random(300), rng.random(300) + 0.05
    paired = paired_bootstrap(a, b, seed=9, n_resamples=5000)
    direct = bootstrap_ci(b - a, seed=9, n_resamples=5000)
    assert (paired.low, paired.high, paired.mean_difference) == pytest.approx((direct.low, direct.high, direct.estimate))
    # the share of resamples in which b wins is about Phi(mean / se) for a mean of 300 values
    assert paired.p_b_better == pytest.approx(stats.norm.cdf(paired.mean_difference / paired.standard_error), abs=0.03)
    with pytest.raises(ValueError, match="same examples"):
        paired_bootstrap([1.0, 0.0], [1.0])


def test_paired_bootstrap_by_slice_covers_each_slice_alone() -> None:
    a, b = paired_outcomes(5, 2000)
    slices = np.array(["s%d" % (i % 7) for i in range(2000)])
    by_slice = paired_bootstrap_by_slice(a, b, slices, seed=1, n_resamples=4000)
    assert sorted(by_slice) == sorted(set(slices))
    for label, r in by_slice.items():
        inside = slices == label
        diff = b[inside].astype(float) - a[inside]
        ref = stats.bootstrap((diff,), np.mean, method="percentile", n_resamples=20_000, rng=2).confidence_interval
        assert r.n == inside.sum() and r.mean_difference == pytest.approx(diff.mean())
        assert abs(r.low - ref.low) <= 2 / r.n + 1e-12 and abs(r.high - ref.high) <= 2 / r.n + 1e-12


def test_pass_at_k_worked_example_and_edges() -> None:
    assert pass_at_k(20, 3, 5) == pytest.approx(0.6008, abs=1e-4)  # 0.60088, quoted as 0.6008
    assert pass_at_k(20, 3, 5) == pytest.approx(1 - math.comb(17, 5) / math.comb(20, 5), abs=1e-12)
    assert pass_at_k(10, 0, 3) == 0.0 and pass_at_k(10, 8, 3) == 1.0
    assert pass_at_k(10, 4, 1) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)


def test_sample_size_rule_of_thumb_and_normal_approximation() -> None:
    assert sample_size(0.70, 0.01, method="rule_of_thumb") == 8400
    assert sample_size(0.70, 0.02, method="rule_of_thumb") == 2100
    z_a, z_b = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    p, q = 0.75, 0.77
    by_hand = (z_a * math.sqrt(2 * 0.76 * 0.24) + z_b * math.sqrt(p * (1 - p) + q * (1 - q))) ** 2 / 0.02**2
    assert sample_size(0.75, 0.02) == math.ceil(by_hand)
    # pairing pays when the systems mostly agree: 10% discordant needs far fewer examples
    assert sample_size(0.75, 0.02, paired=True, discordance=0.10) < sample_size(0.75, 0.02) / 3


def test_min_detectable_effect_inverts_sample_size() -> None:
    for n, paired in ((200, False), (2000, False), (500, True)):
        options = {"paired": paired, "discordance": 0.2 if paired else None}
        mde = min_detectable_effect(n, 0.7, **options)
        assert sample_size(0.7, mde * (1 + 1e-6), **options) <= n < sample_size(0.7, mde * (1 - 1e-6), **options)


def test_holm_and_bonferroni_equal_statsmodels() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.random(int(rng.integers(1, 30))) ** 3
        np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], atol=1e-12)
        np.testing.assert_allclose(bonferroni(p), multipletests(p, method="bonferroni")[1], atol=1e-12)


def test_noise_floor_is_twice_the_sd_of_a_run_to_run_delta() -> None:
    runs = [0.71, 0.70, 0.72, 0.705]
    nf = noise_floor(runs)
    assert nf.floor == pytest.approx(2 * math.sqrt(2) * np.std(runs, ddof=1))
    with pytest.raises(ValueError, match="two runs"):
        noise_floor([0.7])


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_95_percent_intervals_cover_the_true_rate(method: str) -> None:
    rng = np.random.default_rng(2026)
    truth, covered = 0.7, 0
    for _ in range(2000):
        x = (rng.random(200) < truth).astype(float)
        ci = bootstrap_ci(x, method=method, n_resamples=2000, seed=rng)
        covered += ci.low <= truth <= ci.high
    assert 0.935 <= covered / 2000 <= 0.965, covered / 2000
