"""Token-level F1 (SQuAD): the overlap of normalised tokens with the best-matching reference."""

from __future__ import annotations

from collections import Counter

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer
from evals.scorers.text import best_reference, f_measure


def f1(prediction: list[str], reference: list[str]) -> float:
    if not prediction or not reference:
        return float(prediction == reference)
    return f_measure(sum((Counter(prediction) & Counter(reference)).values()), len(prediction), len(reference))


class TokenF1(Scorer):
    name = "token_f1"

    def applies(self, expected: Expected) -> bool:
        return bool(expected.references)

    def __call__(self, output: str, expected: Expected) -> Score:
        best, ref = best_reference(output, expected.references, f1)
        return Score(best, f"F1 {best:.2f} against {ref!r}")
