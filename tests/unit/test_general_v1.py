"""The shipped golden set is the platform's ground truth: check what can be checked from the file itself."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

from evals.golden.dataset import load_golden_set

GENERAL = load_golden_set(Path(__file__).resolve().parents[2] / "datasets" / "general-v1" / "general-v1.jsonl")
ARITHMETIC = re.compile(r"^What is (\d+) ([+\-×÷]) (\d+)\? Answer with the number only\.$")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "×": lambda a, b: a * b, "÷": lambda a, b: Fraction(a, b)}


def test_size_slices_and_a_hard_slice_of_about_ten_percent() -> None:
    assert 180 <= len(GENERAL) <= 220
    assert all({"intent", "difficulty", "length"} <= ex.labels.keys() for ex in GENERAL.examples)
    intents = Counter(ex.labels["intent"] for ex in GENERAL.examples)
    assert {"factual", "arithmetic", "yes_no", "format_json", "format_list", "format_one_word", "refusal"} <= set(intents)
    hard = sum(ex.labels["difficulty"] == "hard" for ex in GENERAL.examples) / len(GENERAL)
    assert 0.07 <= hard <= 0.13


def test_every_computed_arithmetic_answer_is_right() -> None:
    checked = 0
    for ex in GENERAL.examples:
        m = ARITHMETIC.match(ex.input)
        if m:
            a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
            assert Fraction(ex.expected.answer) == OPS[op](a, b), ex.id
            checked += 1
    assert checked >= 25


def test_multiple_choice_inputs_list_the_choices_in_letter_order() -> None:
    for ex in GENERAL.examples:
        if ex.expected.choices and len(ex.expected.choices) > 2:
            listed = re.findall(r"^([A-D])\. (.+)$", ex.input, re.MULTILINE)
            assert listed == [("ABCD"[i], c) for i, c in enumerate(ex.expected.choices)], ex.id


def test_length_labels_follow_the_input_length() -> None:
    for ex in GENERAL.examples:
        n = len(ex.input)
        assert ex.labels["length"] == ("short" if n < 80 else "medium" if n < 250 else "long"), ex.id


def test_every_example_can_be_scored_and_refusals_cover_both_directions() -> None:
    from evals.scorers import SCORERS
    for ex in GENERAL.examples:
        assert any(cls().applies(ex.expected) for cls in SCORERS.values()), ex.id
    refuse = Counter(ex.expected.should_refuse for ex in GENERAL.examples if ex.expected.should_refuse is not None)
    assert refuse[True] >= 10 and refuse[False] >= 5
