"""Classification metrics against scikit-learn on 30 random cases, and the ECE against a computation by
hand, bin by bin."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from evals.stats.classification import classification_report, expected_calibration_error


@pytest.mark.parametrize("case", range(30))
def test_equal_to_scikit_learn(case: int) -> None:
    rng = np.random.default_rng(case)
    classes = [f"c{i}" for i in range(rng.integers(2, 7))]
    n = int(rng.integers(5, 200))
    y_true = list(rng.choice(classes, n))
    y_pred = [t if rng.random() < rng.uniform(0.2, 0.9) else str(rng.choice(classes)) for t in y_true]
    labels = sorted(set(y_true) | set(y_pred))
    r = classification_report(y_true, y_pred)
    p, rec, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    assert list(r.labels) == labels
    assert [m.precision for m in r.per_class] == pytest.approx(p)
    assert [m.recall for m in r.per_class] == pytest.approx(rec)
    assert [m.f1 for m in r.per_class] == pytest.approx(f)
    assert [m.support for m in r.per_class] == list(s)
    assert r.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert r.micro_f1 == pytest.approx(f1_score(y_true, y_pred, average="micro", zero_division=0))
    assert (r.confusion == confusion_matrix(y_true, y_pred, labels=labels)).all()


def test_ece_equals_the_sum_by_hand() -> None:
    conf = [0.05, 0.15, 0.12, 0.55, 0.58, 0.95, 0.99, 1.0, 0.0, 0.6]
    hit = [0, 0, 1, 1, 0, 1, 1, 1, 0, 1]
    # bins (right-closed, 0 in the first): [0, .1]: .05, 0 -> acc 0, conf .025
    # (.1, .2]: .15, .12 -> acc .5, conf .135; (.5, .6]: .55, .58, .6 -> acc 2/3, conf .5766...
    # (.9, 1]: .95, .99, 1.0 -> acc 1, conf .98
    by_hand = (2 / 10) * abs(0 - 0.025) + (2 / 10) * abs(0.5 - 0.135) + (3 / 10) * abs(2 / 3 - (0.55 + 0.58 + 0.6) / 3) \
        + (3 / 10) * abs(1 - (0.95 + 0.99 + 1.0) / 3)
    c = expected_calibration_error(conf, hit)
    assert c.ece == pytest.approx(by_hand)
    assert c.bin_count.tolist() == [2, 2, 0, 0, 0, 3, 0, 0, 0, 3]
    assert np.isnan(c.bin_accuracy[2]) and c.bin_accuracy[5] == pytest.approx(2 / 3)


def test_a_perfectly_calibrated_forecaster_has_ece_near_zero() -> None:
    rng = np.random.default_rng(0)
    conf = rng.random(200_000)
    assert expected_calibration_error(conf, rng.random(conf.size) < conf).ece < 0.005


@pytest.mark.parametrize("call, problem", [
    (lambda: classification_report(["a"], ["a", "b"]), "one length"),
    (lambda: expected_calibration_error([1.2], [1]), "probability"),
    (lambda: expected_calibration_error([0.5, 0.2], [1]), "one length"),
])
def test_bad_input_names_the_problem(call, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        call()
