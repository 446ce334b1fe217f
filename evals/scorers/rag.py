"""Scorers for retrieval-augmented answers (08 §10.3), reading the example's retrieved passages
(`context`) beside its labelled relevant ones (`expected.relevant`): whether the retriever found what
answers the question (context precision and recall), and whether the answer's citations hold up: every
cited passage exists, and shares most of the content words of the sentence that cites it."""

from __future__ import annotations

import re

from pydantic import Field

from evals.golden.dataset import Example, Expected
from evals.scorers.base import Score, Scorer
from evals.scorers.rouge import rouge_tokens

_CITATION = re.compile(r"\[([\w.-]+)\]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
STOPWORDS = frozenset("a an the of in on at to for from by with and or but is are was were be been it its this that "
                      "these those as which who what when where how".split())


class _OnContext(Scorer):
    def applies(self, expected: Expected) -> bool:
        return False  # without the example's passages there is nothing to score

    def __call__(self, output: str, expected: Expected) -> Score:
        raise TypeError(f"{self.name} scores an example with its passages: call score_example")


class ContextPrecision(_OnContext):
    """The share of the retrieved passages that are relevant."""

    name = "context_precision"

    def applies_to(self, example: Example) -> bool:
        return bool(example.context) and bool(example.expected.relevant)

    def score_example(self, output: str, example: Example) -> Score:
        retrieved = [p.id for p in example.context]
        hits = [i for i in retrieved if i in example.expected.relevant]
        return Score(len(hits) / len(retrieved), f"{len(hits)} of {len(retrieved)} retrieved passages are relevant")


class ContextRecall(_OnContext):
    """The share of the relevant passages that were retrieved."""

    name = "context_recall"

    def applies_to(self, example: Example) -> bool:
        return bool(example.expected.relevant)

    def score_example(self, output: str, example: Example) -> Score:
        retrieved = {p.id for p in example.context}
        found = [i for i in example.expected.relevant if i in retrieved]
        return Score(len(found) / len(example.expected.relevant),
                     f"{len(found)} of {len(example.expected.relevant)} relevant passages retrieved")


class Citations(_OnContext):
    """The share of the answer's citations `[id]` that name a retrieved passage supporting the sentence
    they sit in: at least `min_support` of that sentence's content words occur in the passage. An answer
    without a citation scores 0."""

    name = "citations"
    min_support: float = Field(default=0.5, gt=0, le=1)

    def applies_to(self, example: Example) -> bool:
        return bool(example.context)

    def score_example(self, output: str, example: Example) -> Score:
        passages = {p.id: set(rouge_tokens(p.text)) for p in example.context}
        checked = []  # (id, why it fails or None)
        for sentence in _SENTENCE.findall(output):
            words = {w for w in rouge_tokens(_CITATION.sub(" ", sentence)) if w not in STOPWORDS}
            for cited in _CITATION.findall(sentence):
                if cited not in passages:
                    checked.append((cited, "no such passage"))
                elif words and len(words & passages[cited]) / len(words) < self.min_support:
                    checked.append((cited, f"supports {len(words & passages[cited])} of {len(words)} words"))
                else:
                    checked.append((cited, None))
        if not checked:
            return Score(0.0, "no citation")
        good = sum(why is None for _, why in checked)
        bad = "; ".join(f"[{i}]: {why}" for i, why in checked if why)
        return Score(good / len(checked), f"{good} of {len(checked)} citations hold" + (f" ({bad})" if bad else ""))
