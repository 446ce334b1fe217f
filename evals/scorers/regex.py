"""The output matches a regular expression: the scorer's own `pattern`, else the example's."""

from __future__ import annotations

import re

from pydantic import field_validator

from evals.golden.dataset import Expected, valid_pattern
from evals.scorers.base import Score, Scorer, binary


class Regex(Scorer):
    name = "regex"
    pattern: str | None = None  # one pattern for every example (e.g. "one line only")
    ignore_case: bool = False

    _compiles = field_validator("pattern")(valid_pattern)

    def applies(self, expected: Expected) -> bool:
        return self.pattern is not None or expected.pattern is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        pattern = self.pattern if self.pattern is not None else expected.pattern
        ok = re.search(pattern, output.strip(), re.IGNORECASE if self.ignore_case else 0) is not None
        return binary(ok, f"matches /{pattern}/", f"does not match /{pattern}/")
