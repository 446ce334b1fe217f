"""The scorers, by the name a suite uses. Adding one: a file here and a line in `SCORERS`."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from evals.errors import EvalInputError
from evals.scorers.base import Score, Scorer
from evals.scorers.choice_loglik import ChoiceLoglik, ChoiceLoglikNorm
from evals.scorers.code_tests import CodeTests
from evals.scorers.contains_all import ContainsAll
from evals.scorers.contains_any import ContainsAny
from evals.scorers.exact_match import ExactMatch
from evals.scorers.json_schema import JsonSchema
from evals.scorers.json_valid import JsonValid
from evals.scorers.multiple_choice import MultipleChoice
from evals.scorers.must_not_contain import MustNotContain
from evals.scorers.numeric import Numeric
from evals.scorers.rag import Citations, ContextPrecision, ContextRecall
from evals.scorers.refusal import Refusal
from evals.scorers.regex import Regex
from evals.scorers.rouge import Rouge1, Rouge2, RougeLcs
from evals.scorers.rouge_l import RougeL
from evals.scorers.token_f1 import TokenF1
from evals.scorers.trajectory import ToolCallArguments, ToolCallsAnyOrder, ToolCallsExact, ToolCallsInOrder

SCORERS: dict[str, type[Scorer]] = {s.name: s for s in (
    ExactMatch, TokenF1, ContainsAny, ContainsAll, MustNotContain, Regex, JsonValid, JsonSchema, Numeric,
    MultipleChoice, ChoiceLoglik, ChoiceLoglikNorm, RougeL, Rouge1, Rouge2, RougeLcs, Refusal, CodeTests,
    ContextPrecision, ContextRecall, Citations, ToolCallsExact, ToolCallsInOrder, ToolCallsAnyOrder, ToolCallArguments,
)}


def build_scorer(name: str, params: dict[str, Any] | None = None) -> Scorer:
    """The scorer a suite names, with its parameters checked (an unknown name or parameter says which)."""
    if name not in SCORERS:
        raise EvalInputError(f"unknown scorer {name!r}; known: {', '.join(sorted(SCORERS))}")
    try:
        return SCORERS[name](**(params or {}))
    except ValidationError as e:
        raise EvalInputError.from_validation(e) from None


__all__ = ["SCORERS", "Score", "Scorer", "build_scorer"]
