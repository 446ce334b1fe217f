"""ROUGE-1, ROUGE-2 and ROUGE-L F-measures as the `rouge-score` package computes them (its tokenizer:
lower case, runs of letters and digits, no stemming), against the best-matching reference: the
summarisation metrics (08 §10.2). `rouge_l` keeps its SQuAD-normalised tokens, so stored runs stay
comparable; `rougeL` is the package's."""

from __future__ import annotations

import re
from collections import Counter

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer
from evals.scorers.rouge_l import lcs_length
from evals.scorers.text import f_measure

_TOKEN = re.compile(r"[a-z0-9]+")


def rouge_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def rouge_n(prediction: list[str], reference: list[str], n: int) -> float:
    """The F-measure of the n-grams the two share, each counted at most as often as in either."""
    grams = [Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1)) for words in (prediction, reference)]
    overlap = sum((grams[0] & grams[1]).values())
    return f_measure(overlap, sum(grams[0].values()), sum(grams[1].values()))


def rouge(prediction: str, reference: str, kind: str) -> float:
    got, want = rouge_tokens(prediction), rouge_tokens(reference)
    if kind == "rougeL":
        return f_measure(lcs_length(got, want), len(got), len(want))
    return rouge_n(got, want, int(kind[-1]))


class _Rouge(Scorer):
    def applies(self, expected: Expected) -> bool:
        return bool(expected.references)

    def __call__(self, output: str, expected: Expected) -> Score:
        best, ref = max((rouge(output, r, self.name), r) for r in expected.references)
        return Score(best, f"{self.name} {best:.2f} against {ref!r}")


class Rouge1(_Rouge):
    name = "rouge1"


class Rouge2(_Rouge):
    name = "rouge2"


class RougeLcs(_Rouge):
    """The longest common subsequence, on rouge-score's tokens."""

    name = "rougeL"
