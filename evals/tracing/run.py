"""The traces of one `goldgate run`: a run span, and a trace per (example, epoch), linked to it, whose
root span its generation, judge calls and scorers hang beneath; and the finished spans, handed to the
store with the results they explain. Telemetry writes the spans; this decides their shape."""

from __future__ import annotations

import time
from typing import Any

from telemetry import SpanIds, Telemetry
from telemetry.attribution import PROMPT_SHA
from telemetry.evaluation import example_span_attributes, record_score, start_example_span, start_run_span
from telemetry.genai import record_error, span_ids
from telemetry.sinks import SpanRecord, SpanRowBuffer
from telemetry.trace_context import traceparent, traceparent_of

Context = tuple[str, tuple[tuple[str, Any], ...]]  # a traceparent and the attributes of spans under it


class RunTracing:
    def __init__(self, tel: Telemetry, rows: SpanRowBuffer, *, run_id: str, suite: str, dataset_sha256: str,
                 model: str, prompt_sha256: str) -> None:
        self.tel, self.rows, self.run_id, self.prompt_sha256 = tel, rows, run_id, prompt_sha256
        self._run = start_run_span(tel, run_id, suite, dataset_sha256, model)
        self._examples: dict[tuple[str, int], object] = {}  # (example id, epoch) -> its open span

    def start_example(self, example_id: str, epoch: int) -> Context:
        """Open the example's span; the context its generation's span will hang under."""
        span = start_example_span(self.tel, self._run, self.run_id, example_id, epoch)
        self._examples[example_id, epoch] = span
        return self._context(traceparent(span), example_id, self.prompt_sha256)

    def score(self, example_traceparent: str | None, trace_id: str | None, generation_span_id: str | None, name: str,
              value: float, explanation: str, started_ns: int) -> None:
        """A scorer's verdict on a generation whose example span is still open."""
        generation = SpanIds(trace_id, generation_span_id) if trace_id and generation_span_id else None
        record_score(self.tel, example_traceparent, generation, name, value, explanation, start_ns=started_ns,
                     end_ns=time.time_ns())

    def end_example(self, example_id: str, epoch: int) -> SpanIds:
        span = self._examples.pop((example_id, epoch))
        span.end()
        return span_ids(span)

    def judge_context(self, example_id: str, trace_id: str | None, example_span_id: str | None,
                      prompt_sha256: str) -> Context | None:
        """Where a judge's request about a stored answer hangs: under that answer's example span (its span
        names the judge's prompt)."""
        return self._context(traceparent_of(trace_id, example_span_id), example_id, prompt_sha256) \
            if trace_id and example_span_id else None

    def judged(self, trace_id: str | None, example_span_id: str | None, generation_span_id: str | None, name: str,
               value: float, explanation: str, started_ns: int) -> None:
        """A judge's verdict on one rubric dimension of a stored answer, under its example's span."""
        if trace_id and example_span_id:
            self.score(traceparent_of(trace_id, example_span_id), trace_id, generation_span_id, name, value,
                       explanation, started_ns)

    def validation_error(self, error_type: str, model: str) -> None:
        record_error(self.tel, "validation", error_type, model)

    def drain(self) -> list[SpanRecord]:
        """Spans finished since the last call, for the store."""
        return self.rows.drain()

    def end(self) -> None:
        for span in self._examples.values():
            span.end()
        self._run.end()

    def _context(self, parent: str, example_id: str, prompt_sha256: str) -> Context:
        """A generation's parent, and its attributes: the run, the example and the prompt template it was
        rendered from (so a prompt change shows on every span it made)."""
        return parent, (*example_span_attributes(self.run_id, example_id).items(), (PROMPT_SHA, prompt_sha256))
