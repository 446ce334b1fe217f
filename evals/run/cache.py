"""The generation cache, seen as completions: a deterministic answer is reused when the model, prompt,
input and sampling match (the store keeps the rows; the runner and the judges both look here first)."""

from __future__ import annotations

from typing import Sequence

from evals.run.work import Completion, WorkItem
from evals.store.results import CACHE_COLUMNS, cached_generations
from evals.store.store import Store


def cached_completions(store: Store, items: Sequence[WorkItem]) -> list[Completion]:
    hits = cached_generations(store, [i.cache_key for i in items if i.cache_key])
    return [Completion(i, **{c: hits[i.cache_key][c] for c in CACHE_COLUMNS[1:]}, cached=True)
            for i in items if i.cache_key in hits]


def fresh_generations(completions: Sequence[Completion]) -> list[dict]:
    """The deterministic answers just generated, for the generation cache (not one without token counts, from
    a server that reports no usage: a cached answer carries them)."""
    return [{"cache_key": c.item.cache_key, **{k: getattr(c, k) for k in CACHE_COLUMNS[1:]}}
            for c in completions if c.item.cache_key and not c.cached and c.error is None
            and c.prompt_tokens is not None and c.completion_tokens is not None]
