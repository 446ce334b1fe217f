"""The output is JSON that conforms to the example's JSON schema."""

from __future__ import annotations

import jsonschema

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary
from evals.scorers.text import parse_json_answer


class JsonSchema(Scorer):
    name = "json_schema"

    def applies(self, expected: Expected) -> bool:
        return expected.json_schema is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        value, error = parse_json_answer(output)
        if error is not None:
            return Score(0.0, error)
        validator = jsonschema.validators.validator_for(expected.json_schema)(expected.json_schema)
        problem = jsonschema.exceptions.best_match(validator.iter_errors(value))
        where = "/".join(str(p) for p in problem.absolute_path) if problem else ""
        return binary(problem is None, "conforms to the schema", f"{where or 'value'}: {problem.message if problem else ''}")
