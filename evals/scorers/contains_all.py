"""Every `must_contain` phrase appears in the output; partial credit is the share that do."""

from __future__ import annotations

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer
from evals.scorers.text import contains_phrase


class ContainsAll(Scorer):
    name = "contains_all"

    def applies(self, expected: Expected) -> bool:
        return bool(expected.must_contain)

    def __call__(self, output: str, expected: Expected) -> Score:
        missing = [p for p in expected.must_contain if not contains_phrase(output, p)]
        n = len(expected.must_contain)
        return Score((n - len(missing)) / n, f"missing {missing}" if missing else f"all {n} present")
