"""ROUGE-L F-measure: the longest common token subsequence with the best-matching reference."""

from __future__ import annotations

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer
from evals.scorers.text import best_reference, f_measure


def lcs_length(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def rouge_l(prediction: list[str], reference: list[str]) -> float:
    return f_measure(lcs_length(prediction, reference), len(prediction), len(reference))


class RougeL(Scorer):
    name = "rouge_l"

    def applies(self, expected: Expected) -> bool:
        return bool(expected.references)

    def __call__(self, output: str, expected: Expected) -> Score:
        best, ref = best_reference(output, expected.references, rouge_l)
        return Score(best, f"ROUGE-L {best:.2f} against {ref!r}")
