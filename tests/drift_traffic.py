"""Simulated production traffic for drift: windows of generations with chosen lengths, refusal rate and
topic, and the same rows planted as generation spans (with captured content) in a real store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from evals.store.spans import write_spans
from evals.store.store import Store
from telemetry.messages import content_attributes
from telemetry.redact import Redactor
from telemetry.sinks import SpanRecord
from telemetry.tail_sampler import DRAWN

WORDS = [f"word{i}" for i in range(300)]
ZIPF = (1 / np.arange(1, 301)) / (1 / np.arange(1, 301)).sum()
REFUSAL, ANSWER = "I'm sorry, but I cannot help with that.", "Paris is the capital of France."


def window(rng: np.random.Generator, n: int = 400, *, length_scale: float = 1.0, refusal: float = 0.02,
           topic_shift: bool = False) -> pd.DataFrame:
    """One window of simulated traffic: log-normal lengths, 90% stop, 2% refusals, 5% JSON answers (5% of
    them broken), 1% errors, Zipf-distributed input words (rotated by `topic_shift`)."""
    words = WORDS[150:] + WORDS[:150] if topic_shift else WORDS
    u = rng.random(n)
    outputs = np.where(u < refusal, REFUSAL, np.where(u < refusal + 0.05, np.where(rng.random(n) < 0.05, '{"a": ',
                                                                                   '{"a": 1}'), ANSWER))
    return pd.DataFrame({
        "input_tokens": np.round(rng.lognormal(4, 0.5, n) * length_scale),
        "output_tokens": np.round(rng.lognormal(3, 0.6, n)),
        "finish_reason": rng.choice(["stop", "length"], n, p=[0.9, 0.1]),
        "failed": rng.random(n) < 0.01,
        "input_text": [" ".join(rng.choice(words, size=rng.integers(5, 30), p=ZIPF)) for _ in range(n)],
        "output_text": outputs})


def generation(i: int, end: datetime, row: pd.Series, *, weight: float | None = None,
               drawn: bool | None = None) -> SpanRecord:
    """One simulated row as a production generation span with its content captured (and its sampling
    weight and draw, as a tail-sampled store keeps them)."""
    attrs = content_attributes(None, row.input_text, row.output_text, row.finish_reason, Redactor())
    if drawn is not None:
        attrs[DRAWN] = drawn
    return SpanRecord(f"{i:032x}", f"{i:016x}", None, "chat m", "INTERNAL", end, end,
                      "ERROR" if row.failed else "UNSET", json.dumps(attrs), "[]", None, None, "m", 0.5, 0.1, None,
                      int(row.input_tokens), int(row.output_tokens), None, row.finish_reason, None, None, None, None,
                      None, None, weight)


def plant(store: Store, at: datetime, frame: pd.DataFrame, first: int, days_ago: float) -> list[SpanRecord]:
    spans = [generation(first + i, at - timedelta(days=days_ago, seconds=i), row) for i, row in enumerate(frame.itertuples())]
    write_spans(store, spans)
    return spans
