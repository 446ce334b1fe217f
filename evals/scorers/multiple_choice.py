"""Which choice the output picks (by its letter, or by naming exactly one option), against the answer.

Options are lettered A, B, C… in the order the example lists them; an output that names no
option, or more than one, picks nothing and scores 0.
"""

from __future__ import annotations

import re
import string

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary
from evals.scorers.text import contains_phrase

_LETTER = re.compile(r"(?:^|\banswer(?: is)?:?\s*|\()\s*\(?([A-Z])\)?(?=[\s.):,]|$)")


def extract_choice(output: str, choices: tuple[str, ...]) -> str | None:
    letters = string.ascii_uppercase[: len(choices)]
    m = _LETTER.search(output.strip())
    if m and m.group(1) in letters and len(choices) > 2:
        return choices[letters.index(m.group(1))]
    named = [c for c in choices if contains_phrase(output, c)]
    return named[0] if len(named) == 1 else None


class MultipleChoice(Scorer):
    name = "multiple_choice"

    def applies(self, expected: Expected) -> bool:
        return expected.choices is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        picked = extract_choice(output, expected.choices)
        if picked is None:
            return Score(0.0, "picks no single option")
        return binary(picked == expected.answer, f"picks {picked!r}", f"picks {picked!r}, not {expected.answer!r}")
