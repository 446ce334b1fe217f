"""One captured production request replayed through another model (09 §11.1): the answer it got and the
new one, each with what can be said without a reference (its length, finish reason, latency, whether it
refused, whether its JSON parses) and, given a pointwise judge, the judge's score of each."""

from __future__ import annotations

from dataclasses import dataclass, replace

from evals.golden.dataset import Example
from evals.judges.judge import Judge
from evals.scorers.refusal import is_refusal
from evals.scorers.text import looks_like_json, parse_json_answer

@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: str | None
    output_tokens: int | None
    latency_s: float | None
    refused: bool
    json: str | None  # "valid" or "invalid" for an answer that opens as JSON; None for prose
    judge_score: float | None = None  # the judge's overall score on its own scale
    judge_rationale: str | None = None


def describe(text: str, finish_reason: str | None, output_tokens: int | None, latency_s: float | None) -> Answer:
    json_state = ("invalid" if parse_json_answer(text)[1] else "valid") if looks_like_json(text) else None
    return Answer(text, finish_reason, output_tokens, latency_s, is_refusal(text), json_state)


def judged(example: Example, answers: tuple[Answer, Answer], judge: Judge) -> tuple[Answer, Answer]:
    """Both answers with the judge's overall score (None where its reply gave none)."""
    verdicts = judge.pointwise([(example, a.text) for a in answers])
    return tuple(replace(a, judge_score=v.verdict.scores.get("overall"), judge_rationale=v.verdict.rationale)
                 for a, v in zip(answers, verdicts))
