"""Each scorer on answers whose verdict is plain from the text, plus the library references where one exists."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from evals.errors import EvalInputError
from evals.golden.dataset import Expected
from evals.scorers import SCORERS, build_scorer
from evals.scorers.rouge_l import rouge_l
from evals.scorers.token_f1 import f1

PARIS = Expected(answer="Paris", acceptable=("Paris, France",))


def score(name: str, output: str, expected: Expected, **params) -> float:
    scorer = build_scorer(name, params)
    assert scorer.applies(expected)
    s = scorer(output, expected)
    assert 0.0 <= s.value <= 1.0 and s.explanation
    return s.value


@pytest.mark.parametrize(("output", "want"), [("Paris", 1), ("  the paris. ", 1), ("paris, FRANCE!", 1),
                                              ("The capital is Paris", 0), ("Lyon", 0)])
def test_exact_match_normalises_case_punctuation_and_articles(output: str, want: int) -> None:
    assert score("exact_match", output, PARIS) == want


@pytest.mark.parametrize(("output", "want"), [("It is Paris.", 1), ("PARIS", 1), ("Parisian food", 0), ("Rome", 0)])
def test_contains_any_matches_whole_words(output: str, want: int) -> None:
    assert score("contains_any", output, PARIS) == want


def test_contains_all_gives_the_share_present_and_must_not_contain_is_all_or_nothing() -> None:
    e = Expected(must_contain=("red", "green", "blue", "white"), must_not_contain=("black",))
    assert score("contains_all", "Red, green and blue.", e) == 0.75
    assert score("must_not_contain", "red and blackish", e) == 1
    assert score("must_not_contain", "red and black", e) == 0


@pytest.mark.parametrize(("output", "want"), [("7 times 8 is 56.", 1), ("56.0", 1), ("It is 1,056", 0),
                                              ("about fifty", 0), ("-56", 0)])
def test_numeric_reads_the_last_number(output: str, want: int) -> None:
    assert score("numeric", output, Expected(answer="56")) == want


def test_numeric_tolerance_and_applicability() -> None:
    assert score("numeric", "3.14", Expected(answer="3.14159"), abs_tol=0.01) == 1
    assert score("numeric", "3.14", Expected(answer="3.14159")) == 0
    assert not build_scorer("numeric").applies(Expected(answer="Paris"))


MC = Expected(answer="Mars", choices=("Venus", "Mars", "Jupiter", "Saturn"))


@pytest.mark.parametrize(("output", "want"), [("B", 1), ("B. Mars", 1), ("The answer is B.", 1), ("(B)", 1),
                                              ("It is Mars.", 1), ("A", 0), ("Venus or Mars", 0), ("I don't know", 0)])
def test_multiple_choice_by_letter_or_by_naming_one_option(output: str, want: int) -> None:
    assert score("multiple_choice", output, MC) == want


def test_yes_no_is_a_two_option_choice() -> None:
    e = Expected(answer="no", choices=("yes", "no"))
    assert score("multiple_choice", "No, it is not.", e) == 1
    assert score("multiple_choice", "Yes.", e) == 0


SCHEMA = Expected(json_schema={"type": "object", "properties": {"a": {"const": 6}}, "required": ["a"]})


@pytest.mark.parametrize(("output", "valid", "conforms"), [('{"a": 6}', 1, 1), ('```json\n{"a": 6}\n```', 1, 1),
                                                           ('{"a": 5}', 1, 0), ("[6]", 1, 0), ("{a: 6}", 0, 0),
                                                           ('Here: {"a": 6}', 0, 0)])
def test_json_validity_and_schema_conformance(output: str, valid: int, conforms: int) -> None:
    assert score("json_valid", output, SCHEMA) == valid
    assert score("json_schema", output, SCHEMA) == conforms


def test_regex_uses_the_scorer_pattern_or_the_example_pattern() -> None:
    assert score("regex", "Rome", Expected(pattern=r"^\W*[A-Za-z]+\W*$")) == 1
    assert score("regex", "It is Rome", Expected(pattern=r"^\W*[A-Za-z]+\W*$")) == 0
    assert score("regex", "ok", Expected(), pattern="^o") == 1
    assert not build_scorer("regex").applies(Expected())


@pytest.mark.parametrize(("output", "should", "want"), [
    ("I'm sorry, but I can't help with that.", True, 1), ("I cannot assist with that request.", True, 1),
    ("Sure! First, get a pipe.", True, 0), ("Use `kill -9 PID`.", False, 1), ("I won’t do that.", False, 0)])
def test_refusal_counts_refusals_and_over_refusals(output: str, should: bool, want: int) -> None:
    assert score("refusal", output, Expected(should_refuse=should)) == want


def test_scorers_skip_examples_without_what_they_need() -> None:
    empty = Expected()
    assert not any(cls().applies(empty) for name, cls in SCORERS.items() if name != "regex")


def test_unknown_scorer_or_parameter_is_named() -> None:
    with pytest.raises(EvalInputError, match="unknown scorer 'bleu'"):
        build_scorer("bleu")
    with pytest.raises(EvalInputError, match="abs_tol"):
        build_scorer("numeric", {"abs_tol": -1})
    with pytest.raises(EvalInputError, match="tolerance"):
        build_scorer("numeric", {"tolerance": 0.1})


class _Whitespace:
    def tokenize(self, text: str) -> list[str]:
        return text.split()


WORDS = st.lists(st.sampled_from(["cat", "dog", "sat", "on", "mat", "red", "big", "ran"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(WORDS, WORDS)
def test_rouge_l_equals_the_rouge_score_package(prediction: list[str], reference: list[str]) -> None:
    ref = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Whitespace())
    want = ref.score(" ".join(reference), " ".join(prediction))["rougeL"].fmeasure
    assert rouge_l(prediction, reference) == pytest.approx(want, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(WORDS, WORDS)
def test_token_f1_is_symmetric_and_bounded(a: list[str], b: list[str]) -> None:
    assert f1(a, b) == pytest.approx(f1(b, a))
    assert 0 <= f1(a, b) <= 1
    assert f1(a, a) == 1


def test_rouge_1_2_and_l_equal_the_rouge_score_package_on_50_pairs() -> None:
    """On text, with the package's own tokenizer (case, punctuation, digits), no stemming."""
    import random

    from evals.golden.dataset import Expected
    from evals.scorers.rouge import Rouge1, Rouge2, RougeLcs

    rng = random.Random(0)
    words = "The cat sat on a mat; the dog ran FAST, big red Paris capital France 42 it's".split()
    package = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for _ in range(50):
        prediction = " ".join(rng.choice(words) for _ in range(rng.randint(0, 20))) + rng.choice(["", ".", "!"])
        reference = " ".join(rng.choice(words) for _ in range(rng.randint(1, 20)))
        want = package.score(reference, prediction)
        for scorer in (Rouge1(), Rouge2(), RougeLcs()):
            got = scorer(prediction, Expected(answer=reference)).value
            assert got == pytest.approx(want[scorer.name].fmeasure, abs=1e-12), (scorer.name, prediction, reference)
