"""The answer (or an acceptable alternative) appears in the output as a whole phrase."""

from __future__ import annotations

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary
from evals.scorers.text import contains_phrase


class ContainsAny(Scorer):
    name = "contains_any"

    def applies(self, expected: Expected) -> bool:
        return bool(expected.references)

    def __call__(self, output: str, expected: Expected) -> Score:
        hit = next((r for r in expected.references if contains_phrase(output, r)), None)
        return binary(hit is not None, f"contains {hit!r}", f"contains none of {list(expected.references)}")
