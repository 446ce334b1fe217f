"""The output matches a regular expression: the scorer's own `pattern`, else the example's."""

from __future__ import annotations

import re

from pydantic import field_validator

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary


class Regex(Scorer):
    name = "regex"
    pattern: str | None = None  # one pattern for every example (e.g. "one line only")
    ignore_case: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a valid regular expression: {e}") from None
        return v

    def applies(self, expected: Expected) -> bool:
        return self.pattern is not None or expected.pattern is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        pattern = self.pattern if self.pattern is not None else expected.pattern
        ok = re.search(pattern, output.strip(), re.IGNORECASE if self.ignore_case else 0) is not None
        return binary(ok, f"matches /{pattern}/", f"does not match /{pattern}/")
