"""Normalised exact match against the answer and the acceptable alternatives."""

from __future__ import annotations

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary
from evals.scorers.text import normalize


class ExactMatch(Scorer):
    name = "exact_match"

    def applies(self, expected: Expected) -> bool:
        return bool(expected.references)

    def __call__(self, output: str, expected: Expected) -> Score:
        got = normalize(output)
        hit = next((r for r in expected.references if normalize(r) == got), None)
        return binary(hit is not None, f"equals {hit!r}", f"{got[:60]!r} matches none of {len(expected.references)} answers")
