"""Classification metrics (08 §10.1): per-class precision, recall and F1, their macro and micro averages,
the confusion matrix, and, where the model gave a confidence, the expected calibration error with the
reliability diagram's bins. Shaped like scikit-learn's, and equal to it (a class never predicted has
precision 0, as sklearn's `zero_division=0`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # true examples of the class


@dataclass(frozen=True)
class ClassificationReport:
    labels: tuple[str, ...]
    per_class: tuple[ClassMetrics, ...]
    confusion: np.ndarray  # rows: the true class, columns: the predicted class, in `labels` order
    accuracy: float
    macro_f1: float
    micro_f1: float  # equal to accuracy when every example has one true and one predicted label
    macro_precision: float
    macro_recall: float


def classification_report(y_true: Sequence[str], y_pred: Sequence[str], *,
                          labels: Sequence[str] | None = None) -> ClassificationReport:
    """`labels` fixes the classes and their order (default: every label seen, sorted)."""
    if len(y_true) != len(y_pred) or not len(y_true):
        raise ValueError(f"y_true and y_pred must be non-empty and of one length; got {len(y_true)} and {len(y_pred)}")
    classes = tuple(sorted(set(y_true) | set(y_pred))) if labels is None else tuple(labels)
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    for t, p in zip(y_true, y_pred):
        if t in index and p in index:
            confusion[index[t], index[p]] += 1
    tp = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0).astype(float), confusion.sum(axis=1).astype(float)
    precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
    f1 = _ratio(2 * precision * recall, precision + recall)
    micro_p, micro_r = _ratio(tp.sum(), predicted.sum()), _ratio(tp.sum(), actual.sum())
    return ClassificationReport(
        classes, tuple(ClassMetrics(c, float(precision[i]), float(recall[i]), float(f1[i]), int(actual[i]))
                       for i, c in enumerate(classes)),
        confusion, float(np.mean([t == p for t, p in zip(y_true, y_pred)])), float(f1.mean()),
        float(_ratio(2 * micro_p * micro_r, micro_p + micro_r)), float(precision.mean()), float(recall.mean()))


@dataclass(frozen=True)
class Calibration:
    ece: float  # sum over bins of (bin share) * |accuracy - mean confidence|
    bin_edges: np.ndarray  # n_bins + 1 edges on [0, 1]
    bin_accuracy: np.ndarray  # NaN for an empty bin: the reliability diagram's points
    bin_confidence: np.ndarray
    bin_count: np.ndarray


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], *,
                               n_bins: int = 10) -> Calibration:
    """Equal-width bins, right-closed ((0, 0.1], (0.1, 0.2], ... with 0 in the first), as Guo et al. (2017)."""
    conf, hit = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    if conf.shape != hit.shape or conf.ndim != 1 or not conf.size:
        raise ValueError(f"confidence and correct must be 1-D, non-empty, of one length; got {conf.shape}, {hit.shape}")
    if np.any((conf < 0) | (conf > 1)) or np.isnan(conf).any():
        raise ValueError("confidence: every value must be a probability in [0, 1]")
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(bins, weights=hit, minlength=n_bins) / count
        mean_conf = np.bincount(bins, weights=conf, minlength=n_bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] / conf.size * np.abs(accuracy[filled] - mean_conf[filled])))
    return Calibration(ece, edges, accuracy, mean_conf, count)


def _ratio(num, den):
    """num / den, 0 where den is 0 (sklearn's zero_division=0)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)
