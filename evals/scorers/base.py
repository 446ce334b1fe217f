"""What every scorer is: a small frozen pydantic model (its fields are its parameters) called on one answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from evals.golden.dataset import Example, Expected


@dataclass(frozen=True)
class Score:
    value: float  # in [0, 1]
    explanation: str


class Scorer(BaseModel):
    """Subclasses set `name`, say which examples they can score, and score one output."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]
    needs_logliks: ClassVar[bool] = False  # scores the backend's log-likelihoods of the choices, not an answer

    def applies(self, expected: Expected) -> bool:
        """False for examples whose expected answer lacks what this scorer needs (they get no score, not 0)."""
        raise NotImplementedError

    def __call__(self, output: str, expected: Expected) -> Score:
        raise NotImplementedError

    def applies_to(self, example: Example) -> bool:
        """What the runner asks; a scorer that reads more of the example than its expected answer (a RAG
        example's passages) overrides this and `score_example`."""
        return self.applies(example.expected)

    def score_example(self, output: str, example: Example) -> Score:
        return self(output, example.expected)


def binary(ok: bool, yes: str, no: str) -> Score:
    return Score(1.0 if ok else 0.0, yes if ok else no)
