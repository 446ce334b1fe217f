"""The output is a JSON value (for examples that ask for JSON, i.e. carry a schema)."""

from __future__ import annotations

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary
from evals.scorers.text import parse_json_answer


class JsonValid(Scorer):
    name = "json_valid"

    def applies(self, expected: Expected) -> bool:
        return expected.json_schema is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        _, error = parse_json_answer(output)
        return binary(error is None, "valid JSON", error or "")
