"""Spans for an eval run: a run span, a trace per example (its root linked to the run span), and beneath
each example its generation, its judge's generations and one span per scorer; every score is also the
conventions' `gen_ai.evaluation.result` event, parented to the generation it judges, which is what
joins a team's quality numbers to its latency numbers."""

from __future__ import annotations

from typing import Any

from opentelemetry.context import Context
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
from opentelemetry.trace import Link, Span, SpanKind

from telemetry.genai import SpanIds
from telemetry.setup import Telemetry
from telemetry.sinks import EXAMPLE_ID, RUN_ID
from telemetry.trace_context import context_from_traceparent, traceparent_of

EVALUATION_RESULT_EVENT = "gen_ai.evaluation.result"  # no constant in the semconv package yet


def start_run_span(tel: Telemetry, run_id: str, suite: str, dataset_sha256: str, model: str) -> Span:
    return tel.tracer.start_span(f"eval {suite}", kind=SpanKind.INTERNAL, attributes={
        RUN_ID: run_id, "goldgate.suite": suite, "goldgate.dataset.sha256": dataset_sha256,
        g.GEN_AI_REQUEST_MODEL: model})


def start_example_span(tel: Telemetry, run: Span, run_id: str, example_id: str, epoch: int) -> Span:
    """The root of its own trace, linked to the run's span: one trace per (example, epoch), of a handful
    of spans, where a run as one trace made 40,000 spans of 10,000 examples, which backends truncate or
    refuse and nobody can read. `goldgate.run.id` on every span files each trace under its run."""
    return tel.tracer.start_span(f"eval_example {example_id}", context=Context(), kind=SpanKind.INTERNAL,
                                 links=[Link(run.get_span_context(), {RUN_ID: run_id})],
                                 attributes={**example_span_attributes(run_id, example_id), "goldgate.epoch": epoch})


def score_label(value: float) -> str | None:
    return {1.0: "pass", 0.0: "fail"}.get(value)


def example_span_attributes(run_id: str, example_id: str) -> dict[str, str]:
    """What every span of an example carries, so the store can file it under its run and example."""
    return {RUN_ID: run_id, EXAMPLE_ID: example_id}


def record_score(tel: Telemetry, example: str, generation: SpanIds | None, name: str, value: float,
                 explanation: str, *, start_ns: int, end_ns: int) -> None:
    """One scorer's span under the example (given as a traceparent), and its `gen_ai.evaluation.result`
    event parented to the generation it judges (to the example where there is no generation span: a
    cached answer)."""
    attrs: dict[str, Any] = {g.GEN_AI_EVALUATION_NAME: name, g.GEN_AI_EVALUATION_SCORE_VALUE: value,
                             g.GEN_AI_EVALUATION_EXPLANATION: explanation}
    if (label := score_label(value)) is not None:
        attrs[g.GEN_AI_EVALUATION_SCORE_LABEL] = label
    parent = context_from_traceparent(example)
    span = tel.tracer.start_span(f"evaluate {name}", context=parent, kind=SpanKind.INTERNAL, start_time=start_ns,
                                 attributes=attrs)
    span.end(end_time=end_ns)
    judged = context_from_traceparent(traceparent_of(generation.trace_id, generation.span_id)) if generation else parent
    tel.logger.emit(event_name=EVALUATION_RESULT_EVENT, attributes=attrs, timestamp=end_ns, context=judged)

