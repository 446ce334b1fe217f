"""An LLM judge: a judge prompt run on any backend (the in-process engine with any model, or an
OpenAI-compatible endpoint), greedy, with every call cached by (judge model digest, judge prompt
SHA, input SHA, candidate SHA)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Sequence

from evals.golden.dataset import Example, question_text, sha256_text
from evals.judges.parse import Verdict, parse_pairwise, parse_pointwise
from evals.judges.spec import JudgePrompt
from evals.run.cache import cached_completions, fresh_generations
from evals.run.suite import SamplingConfig
from evals.run.work import Backend, Completion, WorkItem, model_identity
from evals.scorers.base import Score
from evals.store.results import store_generations
from evals.store.store import Store

JUDGE_SAMPLING = SamplingConfig(temperature=0, max_tokens=256, seed=0)  # room for the reply schema's longest


def context_text(example: Example) -> str | None:
    """A RAG example's passages as a judge reads them, `[id] text` a line (None without passages)."""
    return "\n".join(f"[{p.id}] {p.text}" for p in example.context) or None


@dataclass(frozen=True)
class Judgment:
    example_id: str
    verdict: Verdict
    raw: str | None  # the judge's reply, kept to read disagreements
    call: Completion | None = field(default=None, compare=False)  # the call itself: its usage is what it cost


@dataclass(frozen=True)
class PairJudgment:
    example_id: str
    first: Verdict  # answer a shown as A
    swapped: Verdict  # answer b shown as A
    winner: str | None  # "a", "b" or "tie"; None when either reply failed to parse
    consistent: bool  # both orders named the same answer (or both a tie)


class Judge:
    def __init__(self, prompt: JudgePrompt, backend: Backend, *, with_reference: bool = False,
                 store: Store | None = None) -> None:
        self.prompt, self.backend, self.with_reference, self.store = prompt, backend, with_reference, store

    @property
    def judge_id(self) -> str:
        """The prompt and the model: the same rubric on two models is two judges (and an ensemble)."""
        return f"{self.prompt.judge_id}@{self.backend.model_id}"

    def _reference(self, example: Example) -> str | None:
        return example.expected.answer if self.with_reference else None

    def _item(self, example: Example, messages: tuple[dict[str, str], ...], *candidates: str) -> WorkItem:
        schema = json.dumps(self.prompt.spec.reply_schema())
        key = sha256_text(json.dumps([model_identity(self.backend), self.prompt.sha256, example.input_sha256,
                                      sha256_text(json.dumps(candidates)), self.with_reference, schema]))
        return WorkItem(example, 0, messages, JUDGE_SAMPLING.seed, key, prefix=self.prompt.spec.reply_prefix,
                        json_schema=schema)

    def _complete(self, items: Sequence[WorkItem]) -> list[Completion]:
        """Completions in the order of `items`, from the cache where the store has them."""
        hits = cached_completions(self.store, items) if self.store else []
        by_key = {c.item.cache_key: c for c in hits}
        fresh = [c for group in self.backend.complete([i for i in items if i.cache_key not in by_key]) for c in group]
        if self.store:
            store_generations(self.store, fresh_generations(fresh))
        by_key.update({c.item.cache_key: c for c in fresh})
        return [by_key[i.cache_key] for i in items]

    def scores(self, verdict: Verdict) -> dict[str, Score]:
        """A verdict as scores, like any scorer's: one metric per rubric dimension (`JUDGE_ID/DIMENSION`),
        brought from the rubric's scale to [0, 1]; an unusable reply gives none."""
        spec = self.prompt.spec
        return {f"{self.judge_id}/{dim}": Score((v - spec.scale(dim).min) / (spec.scale(dim).max - spec.scale(dim).min),
                                                verdict.rationale)
                for dim, v in verdict.scores.items()}

    def pointwise(self, candidates: Sequence[tuple[Example, str]], *,
                  traced: Callable[[int, WorkItem], WorkItem] | None = None) -> list[Judgment]:
        """One judgment per (example, answer); `traced(i, item)` may place the i-th request in a trace."""
        spec = self.prompt.spec
        items = [self._item(ex, spec.render(question=question_text(ex), answer=answer, reference=self._reference(ex),
                                            context=context_text(ex)), answer)
                 for ex, answer in candidates]
        if traced is not None:
            items = [traced(i, item) for i, item in enumerate(items)]
        return [Judgment(c.item.example.id, _verdict(c, lambda text: parse_pointwise(text, spec)), c.output, c)
                for c in self._complete(items)]

    def pairwise(self, pairs: Sequence[tuple[Example, str, str]]) -> list[PairJudgment]:
        """Each pair judged in both orders; a verdict that follows the order is a tie."""
        spec = self.prompt.spec
        items = []
        for ex, a, b in pairs:
            fields = {"question": question_text(ex), "reference": self._reference(ex)}
            items.append(self._item(ex, spec.render(answer_a=a, answer_b=b, **fields), a, b))
            items.append(self._item(ex, spec.render(answer_a=b, answer_b=a, **fields), b, a))
        done = self._complete(items)
        return [_resolve(ex.id, _verdict(done[2 * i], parse_pairwise), _verdict(done[2 * i + 1], parse_pairwise))
                for i, (ex, _, _) in enumerate(pairs)]


def _verdict(c: Completion, parse) -> Verdict:
    return Verdict("error", problem=c.error) if c.error is not None else parse(c.output)


def _resolve(example_id: str, first: Verdict, swapped: Verdict) -> PairJudgment:
    if first.outcome != "scored" or swapped.outcome != "scored":
        return PairJudgment(example_id, first, swapped, None, False)
    in_first = {1: "a", 2: "b", 0: "tie"}[first.scores["winner"]]
    in_swapped = {1: "b", 2: "a", 0: "tie"}[swapped.scores["winner"]]
    consistent = in_first == in_swapped
    return PairJudgment(example_id, first, swapped, in_first if consistent else "tie", consistent)


def position_consistency(judgments: Sequence[PairJudgment]) -> float:
    """Share of parsed pairs whose verdict did not depend on the order shown (NaN if none parsed)."""
    parsed = [j for j in judgments if j.winner is not None]
    return sum(j.consistent for j in parsed) / len(parsed) if parsed else float("nan")
