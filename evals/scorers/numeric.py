"""The last number in the output equals the expected number within a tolerance."""

from __future__ import annotations

import math
import re

from pydantic import NonNegativeFloat

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def parse_number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def last_number(text: str) -> float | None:
    found = _NUMBER.findall(text)
    return parse_number(found[-1]) if found else None


class Numeric(Scorer):
    name = "numeric"
    abs_tol: NonNegativeFloat = 1e-9
    rel_tol: NonNegativeFloat = 0.0

    def applies(self, expected: Expected) -> bool:
        return expected.answer is not None and parse_number(expected.answer) is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        want, got = parse_number(expected.answer), last_number(output)
        if got is None:
            return Score(0.0, "no number in the output")
        ok = math.isclose(got, want, rel_tol=self.rel_tol, abs_tol=self.abs_tol)
        return binary(ok, f"{got:g} equals {want:g}", f"{got:g} is not {want:g}")
