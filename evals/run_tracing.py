"""The trace of one `goldgate run`: a run span, a span per (example, epoch) that its generation, judge
calls and scorers hang beneath, and the finished spans handed to the store with the results they
explain. Telemetry writes the spans; this decides their shape."""

from __future__ import annotations

import time
from dataclasses import replace

from evals.backends import Completion, WorkItem
from telemetry import SpanIds, Telemetry
from telemetry.evaluation import example_span_attributes, record_score, start_example_span, start_run_span
from telemetry.genai import record_error, span_ids
from telemetry.sinks import SpanRow, SpanRowBuffer
from telemetry.trace_context import traceparent, traceparent_of


class RunTracing:
    def __init__(self, tel: Telemetry, rows: SpanRowBuffer, *, run_id: str, suite: str, dataset_sha256: str,
                 model: str) -> None:
        self.tel, self.rows, self.run_id = tel, rows, run_id
        self._run = start_run_span(tel, run_id, suite, dataset_sha256, model)
        self._examples: dict[tuple[str, int], object] = {}  # (example id, epoch) -> its open span

    def start_example(self, item: WorkItem) -> WorkItem:
        """Open the example's span; `item` with the context its generation's span will hang under."""
        span = start_example_span(self.tel, self._run, self.run_id, item.example.id, item.epoch)
        self._examples[item.example.id, item.epoch] = span
        return self._under(item, traceparent(span))

    def score(self, c: Completion, name: str, value: float, explanation: str, started_ns: int) -> None:
        """A scorer's verdict on `c`, whose example span is still open."""
        generation = SpanIds(c.trace_id, c.span_id) if c.trace_id and c.span_id else None
        record_score(self.tel, c.item.traceparent, generation, name, value, explanation, start_ns=started_ns,
                     end_ns=time.time_ns())

    def end_example(self, item: WorkItem) -> SpanIds:
        span = self._examples.pop((item.example.id, item.epoch))
        span.end()
        return span_ids(span)

    def judge_item(self, item: WorkItem, trace_id: str | None, example_span_id: str | None) -> WorkItem:
        """A judge's request about a stored answer, hung under that answer's example span."""
        return self._under(item, traceparent_of(trace_id, example_span_id)) if trace_id and example_span_id else item

    def judged(self, trace_id: str | None, example_span_id: str | None, generation_span_id: str | None, name: str,
               value: float, explanation: str, started_ns: int) -> None:
        """A judge's verdict on one rubric dimension of a stored answer, under its example's span."""
        if trace_id and example_span_id:
            generation = SpanIds(trace_id, generation_span_id) if generation_span_id else None
            record_score(self.tel, traceparent_of(trace_id, example_span_id), generation, name, value, explanation,
                         start_ns=started_ns, end_ns=time.time_ns())

    def validation_error(self, error_type: str, model: str) -> None:
        record_error(self.tel, "validation", error_type, model)

    def drain(self) -> list[SpanRow]:
        """Spans finished since the last call, as store rows."""
        return self.rows.drain()

    def end(self) -> None:
        for span in self._examples.values():
            span.end()
        self._run.end()

    def _under(self, item: WorkItem, parent: str) -> WorkItem:
        return replace(item, traceparent=parent,
                       span_attributes=tuple(example_span_attributes(self.run_id, item.example.id).items()))
