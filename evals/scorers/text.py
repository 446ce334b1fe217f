"""Text helpers the scorers share: SQuAD-style normalisation, phrase search, JSON pulled out of an answer."""

from __future__ import annotations

import json
import re
import string
from typing import Any, Callable

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
_JSON_START = re.compile(r"\s*(```json|[{\[])", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the SQuAD answer normalisation)."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def contains_phrase(output: str, phrase: str) -> bool:
    """Whether the normalised phrase occurs in the normalised output on word boundaries ("4" is not in "14")."""
    needle = normalize(phrase)
    return bool(needle) and f" {needle} " in f" {normalize(output)} "


def looks_like_json(output: str) -> bool:
    """The answer opens as JSON (an object, an array or a ```json fence): it tried to be JSON."""
    return _JSON_START.match(output) is not None


def parse_json_answer(output: str) -> tuple[Any, str | None]:
    """The JSON value an answer holds (a ```json fence around it is allowed), or the reason it holds none."""
    fenced = _FENCE.match(output)
    body = fenced.group(1) if fenced else output
    try:
        return json.loads(body), None
    except json.JSONDecodeError as e:
        return None, f"not JSON: {e.msg} at line {e.lineno} column {e.colno}"


def f_measure(overlap: int, predicted: int, reference: int) -> float:
    """Harmonic mean of precision (overlap / predicted) and recall (overlap / reference)."""
    if overlap == 0:
        return 0.0
    precision, recall = overlap / predicted, overlap / reference
    return 2 * precision * recall / (precision + recall)


def best_reference(output: str, references: tuple[str, ...],
                   similarity: Callable[[list[str], list[str]], float]) -> tuple[float, str]:
    """The highest token similarity of the output to any reference, and that reference."""
    got = tokens(output)
    return max((similarity(got, tokens(r)), r) for r in references)
