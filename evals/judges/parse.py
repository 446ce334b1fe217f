"""Strict parsing of judge replies, with one narrow repair: the JSON object may sit inside a code
fence or among other words. Anything else is a parse failure, recorded as its own outcome and
never turned into a score."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from evals.judges.spec import JudgeSpec

Outcome = Literal["scored", "parse_error", "error"]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    scores: dict[str, int] = field(default_factory=dict)  # per dimension, plus "overall"
    rationale: str = ""
    problem: str = ""  # why a reply could not be used


def _json_object(text: str) -> tuple[dict | None, str]:
    body = text.strip()
    for candidate in (body, body[body.find("{"): body.rfind("}") + 1] if "{" in body else ""):
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value, ""
        return None, f"the reply is JSON but not an object: {type(value).__name__}"
    return None, "no JSON object in the reply"


def _integer_in(value: object, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def parse_pointwise(text: str, spec: JudgeSpec) -> Verdict:
    obj, problem = _json_object(text)
    if obj is None:
        return Verdict("parse_error", problem=problem)
    scores, overall, rationale = obj.get("scores"), obj.get("overall"), obj.get("rationale", "")
    if not isinstance(scores, dict) or set(scores) != set(spec.dimensions):
        return Verdict("parse_error", problem=f"`scores` must have exactly the keys {sorted(spec.dimensions)}")
    for name, scale in spec.dimensions.items():
        if not _integer_in(scores[name], scale.min, scale.max):
            return Verdict("parse_error", problem=f"scores.{name} must be an integer in [{scale.min}, {scale.max}]")
    if not _integer_in(overall, spec.overall.min, spec.overall.max):
        return Verdict("parse_error", problem=f"overall must be an integer in [{spec.overall.min}, {spec.overall.max}]")
    if not isinstance(rationale, str):
        return Verdict("parse_error", problem="rationale must be a string")
    return Verdict("scored", {**scores, "overall": overall}, rationale)


def parse_pairwise(text: str) -> Verdict:
    """scores: {"winner": 1 for A, 2 for B, 0 for a tie}."""
    obj, problem = _json_object(text)
    if obj is None:
        return Verdict("parse_error", problem=problem)
    winner = obj.get("winner")
    if winner not in ("A", "B", "tie"):
        return Verdict("parse_error", problem=f'winner must be "A", "B" or "tie", got {winner!r}')
    rationale = obj.get("rationale", "")
    return Verdict("scored", {"winner": {"A": 1, "B": 2, "tie": 0}[winner]}, rationale if isinstance(rationale, str) else "")
