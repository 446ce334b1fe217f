"""Multiple choice by log-likelihood, as lm-evaluation-harness scores it: each of `expected.choices` is a
continuation of the question, the model's summed log probability of its tokens is its score, and the
likeliest is the model's pick (`choice_loglik`: acc), or the likeliest per character of the choice, which
stops short choices winning for being short (`choice_loglik_norm`: acc_norm).

No answer is generated for this: the backend scores each continuation (the engine in one batched
forward per example, an endpoint through completions with `echo` and `logprobs`), and the runner hands
the sums to these scorers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

from evals.golden.dataset import Example, Expected, question_text
from evals.scorers.base import Score, Scorer, binary


@dataclass(frozen=True)
class Continuation:
    """A continuation of `context` to score: the text the model is asked for the likelihood of."""

    context: str
    text: str


@dataclass(frozen=True)
class Loglik:
    logprob: float  # summed over the continuation's tokens
    tokens: int


def continuation(example: Example, answer: str) -> Continuation:
    """`answer` after lm-evaluation-harness's plain-text prompt of the example's question (the same text for
    the engine and for any endpoint, whose chat template the harness does not know)."""
    return Continuation(f"Question: {question_text(example)}\nAnswer:", f" {answer}")


def continuations(example: Example) -> tuple[Continuation, ...]:
    """One per choice, in the example's order."""
    return tuple(continuation(example, choice) for choice in example.expected.choices or ())


class ChoiceLoglik(Scorer):
    name = "choice_loglik"
    needs_logliks: ClassVar[bool] = True
    normalised: ClassVar[bool] = False

    def applies(self, expected: Expected) -> bool:
        return expected.choices is not None and expected.answer in expected.choices

    def __call__(self, output: str, expected: Expected) -> Score:
        raise TypeError(f"{self.name} scores log-likelihoods, not an answer: call score_logliks")

    def score_logliks(self, logliks: Sequence[Loglik], expected: Expected) -> Score:
        choices = expected.choices
        by = [ll.logprob / len(f" {c}") if self.normalised else ll.logprob for ll, c in zip(logliks, choices)]
        best = max(range(len(choices)), key=by.__getitem__)
        how = f"{by[best]:.3f} per character" if self.normalised else f"log-likelihood {by[best]:.3f}"
        return binary(choices[best] == expected.answer, f"likeliest is {choices[best]!r} ({how})",
                      f"likeliest is {choices[best]!r} ({how}), not {expected.answer!r}")


class ChoiceLoglikNorm(ChoiceLoglik):
    name = "choice_loglik_norm"
    normalised: ClassVar[bool] = True
