"""Run a golden set through a backend, score every answer, and store results as they arrive.

A run is the set of (example, epoch) pairs; what is already stored without error is done, so
starting again after a crash (`--resume`) runs exactly the rest. Deterministic answers are looked
up in the generation cache first and reused when the model, prompt, input and sampling match.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from evals.golden.dataset import Example, GoldenSet, is_holdout, sha256_text
from evals.run.cache import cached_completions, fresh_generations
from evals.run.costs import completion_cost
from evals.run.suite import Suite
from evals.run.work import Backend, Completion, WorkItem, model_identity
from evals.scorers import Scorer
from evals.scorers.choice_loglik import continuations
from evals.store.results import write_batch
from evals.store.store import Store
from evals.tracing.run import RunTracing
from telemetry.prices import PriceTable

Progress = Callable[[list[Completion]], None]
IN_HAND = 4096  # work items taken at a time: bounds the open spans and queued requests of a 100,000-item run
WRITE_AT_MOST = 10_000  # results per transaction at full speed: DuckDB's cost is per commit, not per row
WRITE_EVERY_S = 2.0  # and at least this often, so a dashboard sees progress and a crash loses little


@dataclass(frozen=True)
class RunTarget:
    """Everything a run needs that is not in its record: the examples, scorers and the backend."""

    run_id: str
    suite: Suite
    golden: GoldenSet
    examples: tuple[Example, ...]
    scorers: tuple[Scorer, ...]
    backend: Backend
    tracing: RunTracing | None = None
    prices: PriceTable | None = None  # what each answer is costed by


def cache_key(backend: Backend, suite: Suite, example: Example, seed: int | None) -> str | None:
    if not suite.sampling.deterministic:
        return None
    model = model_identity(backend)
    sampling = suite.sampling.model_dump(mode="json", exclude={"seed"})
    return sha256_text(json.dumps([model, suite.prompt.sha256, example.input_sha256, sampling, seed], sort_keys=True))


def work_items(target: RunTarget, done: set[tuple[str, int]]) -> Iterator[WorkItem]:
    """The (example, epoch) pairs not yet done, made as they are taken, not all at once."""
    suite = target.suite
    for epoch in range(suite.epochs):
        for ex in target.examples:
            if (ex.id, epoch) in done:
                continue
            seed = None if suite.sampling.seed is None else suite.sampling.seed + epoch
            scored = continuations(ex) if any(s.needs_logliks and s.applies_to(ex) for s in target.scorers) else ()
            key = None if scored else cache_key(target.backend, suite, ex, seed)  # the cache keeps answers only
            yield WorkItem(ex, epoch, suite.prompt.messages(ex), seed, key, continuations=scored,
                           tools=suite.prompt.tool_dicts(), tool_choice=suite.prompt.tool_choice)


def execute(store: Store, target: RunTarget, on_progress: Progress | None = None) -> None:
    """Generate and score every pair not yet done, storing finished answers a transaction at a time. Work is
    taken IN_HAND at a time (its example spans open, its requests queued), so memory stays bounded however
    large the set; the backend keeps its batch or its connections busy within each part."""
    items = work_items(target, store.done_keys(target.run_id))
    writes = PendingWrites(store, on_progress)
    try:
        while part := list(itertools.islice(items, IN_HAND)):
            if target.tracing is not None:
                part = [i.placed(*target.tracing.start_example(i.example.id, i.epoch)) for i in part]
            hits = cached_completions(store, part)
            hit_ids = {id(c.item) for c in hits}
            groups = target.backend.complete([i for i in part if id(i) not in hit_ids])
            for group in itertools.chain([hits] if hits else [], groups):
                writes.add(group, *_rows(target, group))
    finally:  # what finished is stored even when the run stops here
        writes.flush()


class PendingWrites:
    """Finished answers and their rows (results, scores, fresh answers for the cache, spans), written in one
    transaction when WRITE_AT_MOST results have gathered or WRITE_EVERY_S have passed since the last write
    (a store commit costs a checkpoint, a row costs little); progress counts what is stored."""

    def __init__(self, store: Store, on_progress: Progress | None) -> None:
        self.store, self.on_progress = store, on_progress
        self.completions, self.rows, self.last = [], ([], [], [], []), time.monotonic()

    def add(self, group: list[Completion], *rows: list) -> None:
        self.completions += group
        for kept, new in zip(self.rows, rows):
            kept += new
        if len(self.completions) >= WRITE_AT_MOST or time.monotonic() - self.last >= WRITE_EVERY_S:
            self.flush()

    def flush(self) -> None:
        completions, (results, scores, generations, spans) = self.completions, self.rows
        self.completions, self.rows, self.last = [], ([], [], [], []), time.monotonic()
        if results or spans:
            write_batch(self.store, results, scores, generations, spans)
        if completions and self.on_progress:
            self.on_progress(completions)


def _rows(target: RunTarget, group: list[Completion]) -> tuple[list, list, list, list]:
    """A group's results, scores, fresh answers for the cache and finished spans, scored and ready to store."""
    salt, fraction, tracing = target.suite.holdout_salt, target.suite.holdout, target.tracing
    results, scores = [], []
    for c in group:
        ex, epoch = c.item.example, c.item.epoch
        if c.error is None:
            for scorer in target.scorers:
                if scorer.applies_to(ex) and (c.logliks is not None or not scorer.needs_logliks):
                    started = time.time_ns()
                    s = scorer.score_logliks(c.logliks, ex.expected) if scorer.needs_logliks \
                        else scorer.score_example(c.output, ex)
                    scores.append({"run_id": target.run_id, "example_id": ex.id, "epoch": epoch,
                                   "scorer": scorer.name, "value": s.value, "explanation": s.explanation})
                    if tracing is not None:
                        tracing.score(c.item.traceparent, c.trace_id, c.span_id, scorer.name, s.value, s.explanation,
                                      started)
        span = tracing.end_example(ex.id, epoch) if tracing is not None else None
        results.append({"run_id": target.run_id, "example_id": ex.id, "epoch": epoch,
                        "holdout": is_holdout(ex.id, fraction, salt), "labels": json.dumps(ex.labels),
                        "input_sha256": ex.input_sha256, "output": c.output, "finish_reason": c.finish_reason,
                        "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
                        "latency_s": c.latency_s, "ttft_s": c.ttft_s, "cached": c.cached, "error": c.error,
                        "trace_id": span and span.trace_id, "span_id": span and span.span_id,
                        "generation_span_id": c.span_id,
                        "cost": completion_cost(target.prices, target.backend.model_id, c)})
    return results, scores, fresh_generations(group), tracing.drain() if tracing is not None else []
