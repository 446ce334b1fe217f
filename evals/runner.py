"""Run a golden set through a backend, score every answer, and store results as they arrive.

A run is the set of (example, epoch) pairs; what is already stored without error is done, so
starting again after a crash (`--resume`) runs exactly the rest. Deterministic answers are looked
up in the generation cache first and reused when the model, prompt, input and sampling match.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import duckdb

from evals.backends import Backend, Completion, WorkItem, model_identity
from evals.dataset import Example, GoldenSet, is_holdout, sha256_text
from evals.scorers import Scorer
from evals.run_tracing import RunTracing
from evals.store.store import Store, insert_spans, now
from evals.suite import Suite

Progress = Callable[[list[Completion]], None]
RESULT_COLUMNS = ("run_id, example_id, epoch, holdout, labels, input_sha256, output, finish_reason, prompt_tokens, "
                  "completion_tokens, latency_s, ttft_s, cached, error, created_at, trace_id, span_id, "
                  "generation_span_id")


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


def select_examples(golden: GoldenSet, limit: int | None) -> tuple[Example, ...]:
    return golden.examples if limit is None else golden.examples[:limit]


def cache_key(backend: Backend, suite: Suite, example: Example, seed: int | None) -> str | None:
    if not suite.sampling.deterministic:
        return None
    model = model_identity(backend)
    sampling = suite.sampling.model_dump(mode="json", exclude={"seed"})
    return sha256_text(json.dumps([model, suite.prompt.sha256, example.input_sha256, sampling, seed], sort_keys=True))


def work_items(target: RunTarget, done: set[tuple[str, int]]) -> list[WorkItem]:
    suite, items = target.suite, []
    for epoch in range(suite.epochs):
        for ex in target.examples:
            if (ex.id, epoch) in done:
                continue
            seed = None if suite.sampling.seed is None else suite.sampling.seed + epoch
            items.append(WorkItem(ex, epoch, suite.prompt.messages(ex), seed,
                                  cache_key(target.backend, suite, ex, seed)))
    return items


def cached_completions(store: Store, items: Sequence[WorkItem]) -> list[Completion]:
    keys = [i.cache_key for i in items if i.cache_key]
    if not keys or not store.path.exists():
        return []
    with store.read() as con:
        rows = con.execute("SELECT cache_key, output, finish_reason, prompt_tokens, completion_tokens, latency_s, ttft_s "
                           "FROM generations WHERE cache_key IN (SELECT unnest($keys))", {"keys": keys}).fetchall()
    hits = {r[0]: r[1:] for r in rows}
    return [Completion(i, *hits[i.cache_key], cached=True) for i in items if i.cache_key in hits]


def execute(store: Store, target: RunTarget, on_progress: Progress | None = None) -> None:
    """Generate and score every pair not yet done, storing each group of completions in one transaction."""
    items = work_items(target, store.done_keys(target.run_id))
    if target.tracing is not None:
        items = [target.tracing.start_example(i) for i in items]
    hits = cached_completions(store, items)
    hit_ids = {id(c.item) for c in hits}
    groups = target.backend.complete([i for i in items if id(i) not in hit_ids])
    if hits:
        _store_group(store, target, hits, on_progress)
    for group in groups:
        _store_group(store, target, group, on_progress)


def remember(con: duckdb.DuckDBPyConnection, completions: Sequence[Completion]) -> None:
    """Put fresh deterministic answers into the generation cache (inside the caller's transaction)."""
    created = now()
    rows = [(c.item.cache_key, c.output, c.finish_reason, c.prompt_tokens, c.completion_tokens, c.latency_s, c.ttft_s,
             created) for c in completions if c.item.cache_key and not c.cached and c.error is None]
    if rows:
        con.executemany("INSERT OR IGNORE INTO generations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _store_group(store: Store, target: RunTarget, group: list[Completion], on_progress: Progress | None) -> None:
    salt, fraction, created, tracing = target.suite.holdout_salt, target.suite.holdout, now(), target.tracing
    results, scores = [], []
    for c in group:
        ex = c.item.example
        if c.error is None:
            for scorer in target.scorers:
                if scorer.applies(ex.expected):
                    started = time.time_ns()
                    s = scorer(c.output, ex.expected)
                    scores.append((target.run_id, ex.id, c.item.epoch, scorer.name, s.value, s.explanation))
                    if tracing is not None:
                        tracing.score(c, scorer.name, s.value, s.explanation, started)
        span = tracing.end_example(c.item) if tracing is not None else None
        results.append((target.run_id, ex.id, c.item.epoch, is_holdout(ex.id, fraction, salt), json.dumps(ex.labels),
                        ex.input_sha256, c.output, c.finish_reason, c.prompt_tokens, c.completion_tokens, c.latency_s,
                        c.ttft_s, c.cached, c.error, created, span and span.trace_id, span and span.span_id, c.span_id))
    with store.write() as con:
        con.executemany(f"INSERT OR REPLACE INTO results ({RESULT_COLUMNS}) VALUES ({', '.join('?' * 18)})", results)
        if scores:
            con.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?)", scores)
        remember(con, group)
        if tracing is not None:
            insert_spans(con, tracing.drain())
    if on_progress:
        on_progress(group)


def create_run(store: Store, record: dict) -> None:
    with store.write() as con:
        con.execute(f"INSERT INTO runs ({', '.join(record)}) VALUES ({', '.join('?' * len(record))})", list(record.values()))


def finish_run(store: Store, run_id: str, summary: dict, spans: Sequence[tuple] = ()) -> None:
    """Mark the run completed with its summary, and store its last spans (the run's own among them)."""
    with store.write() as con:
        con.execute("UPDATE runs SET status = 'completed', finished_at = ?, summary = ? WHERE run_id = ?",
                    [now(), json.dumps(summary), run_id])
        insert_spans(con, list(spans))
