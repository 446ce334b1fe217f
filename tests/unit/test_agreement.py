"""Agreement statistics against scikit-learn, statsmodels and the krippendorff package on many random cases."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from evals.stats.agreement import cohen_kappa, fleiss_kappa, interpret_kappa, item_bootstrap, krippendorff_alpha

SEEDS = range(40)


def two_raters(seed: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 120)), int(rng.integers(2, 6))
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < rng.random(), a, rng.integers(0, k, n))  # agreement from none to high
    return a.tolist(), b.tolist()


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_kappa_equals_scikit_learn(seed: int, weights) -> None:
    a, b = two_raters(seed)
    want = cohen_kappa_score(a, b, weights=weights)
    got = cohen_kappa(a, b, weights=weights)
    assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-9)


def test_cohen_kappa_labels_fix_categories_and_order() -> None:
    a, b = ["low", "mid", "high", "mid"], ["mid", "mid", "high", "low"]
    order = ["low", "mid", "high"]
    assert cohen_kappa(a, b, weights="linear", labels=order) == pytest.approx(
        cohen_kappa_score(a, b, weights="linear", labels=order), abs=1e-12)
    with pytest.raises(ValueError, match="not one of the labels"):
        cohen_kappa(a, b, labels=["low", "mid"])


@pytest.mark.parametrize("seed", SEEDS)
def test_fleiss_kappa_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    items, raters, k = int(rng.integers(5, 80)), int(rng.integers(2, 7)), int(rng.integers(2, 5))
    truth = rng.integers(0, k, items)[:, None]
    ratings = np.where(rng.random((items, raters)) < rng.random(), truth, rng.integers(0, k, (items, raters)))
    assert fleiss_kappa(ratings.tolist()) == pytest.approx(sm_fleiss_kappa(aggregate_raters(ratings)[0]), abs=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", SEEDS)
def test_krippendorff_alpha_equals_the_krippendorff_package_with_missing_data(seed: int, level: str) -> None:
    rng = np.random.default_rng(seed)
    raters, items = int(rng.integers(2, 6)), int(rng.integers(5, 60))
    truth = rng.integers(1, 6, items)[None, :]
    data = np.where(rng.random((raters, items)) < 0.7, truth, rng.integers(1, 6, (raters, items))).astype(float)
    data[rng.random(data.shape) < 0.25] = np.nan
    want = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    got = krippendorff_alpha([[None if np.isnan(x) else x for x in row] for row in data], level=level)
    assert got == pytest.approx(want, abs=1e-9)


def test_degenerate_agreement_is_nan_and_called_undefined() -> None:
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    assert math.isnan(fleiss_kappa([["x", "x"], ["x", "x"]]))
    assert math.isnan(krippendorff_alpha([[1, 1], [1, 1]]))
    assert interpret_kappa(float("nan")) == "undefined"
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa([1, 2], [1])
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa([[1, 2], [1]])
    with pytest.raises(ValueError, match="two or more ratings"):
        krippendorff_alpha([[1, None], [None, 2]])


@pytest.mark.parametrize(("kappa", "band"), [(-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.35, "fair"),
                                             (0.5, "moderate"), (0.61, "substantial"), (0.8, "substantial"),
                                             (0.81, "almost perfect"), (1.0, "almost perfect")])
def test_landis_koch_bands(kappa: float, band: str) -> None:
    assert interpret_kappa(kappa) == band


def test_item_bootstrap_interval_brackets_the_estimate_and_narrows_with_more_items() -> None:
    widths = []
    for n in (40, 400):
        rng = np.random.default_rng(n)
        a = rng.integers(0, 2, n)
        b = np.where(rng.random(n) < 0.8, a, 1 - a)
        ci = item_bootstrap(cohen_kappa, a.tolist(), b.tolist(), n_resamples=1000, seed=1)
        assert ci.low <= ci.estimate <= ci.high and ci.estimate == cohen_kappa(a.tolist(), b.tolist())
        widths.append(ci.high - ci.low)
    assert widths[1] < widths[0] / 2
