"""None of the `must_not_contain` phrases appears in the output."""

from __future__ import annotations

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary
from evals.scorers.text import contains_phrase


class MustNotContain(Scorer):
    name = "must_not_contain"

    def applies(self, expected: Expected) -> bool:
        return bool(expected.must_not_contain)

    def __call__(self, output: str, expected: Expected) -> Score:
        found = [p for p in expected.must_not_contain if contains_phrase(output, p)]
        return binary(not found, "none of the forbidden phrases", f"contains {found}")
