"""Tail sampling in-process: a span processor that holds each trace's finished spans until the trace's
local root ends, decides by the policy, and hands a kept trace to the processors behind it (the store's
rows, the JSONL file, the OTLP exporters) and a dropped one to none. Every error, every slow and every
expensive trace is kept; the rest at a baseline rate. A kept trace's spans carry their sampling weight
(1 when a rule kept it for what it is, 100/p when only the baseline draw did), so counts over a sampled
store stay unbiased (Horvitz-Thompson), and whether the baseline draw kept it, so that distributions are
compared over the uniform part of the sample only; its content survives only at the policy's own, lower rate."""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from telemetry.messages import CONTENT_KEYS, INFERENCE_DETAILS_EVENT
from telemetry.tail_policy import SamplingPolicy, probabilistic_draw, trace_duration_s

SAMPLE_WEIGHT = "goldgate.sampling.weight"  # how many traces like this one each kept one stands for
SAMPLED_BY = "goldgate.sampling.policy"  # the policies that kept it, on its root span
SAMPLING_DECISION = "goldgate.sampling.decision"  # the sampler counter's one label: kept or dropped
DRAWN = "goldgate.sampling.drawn"  # the baseline draw kept it: these traces alone are a uniform sample


@dataclass(frozen=True)
class Decision:
    keep: bool
    weight: float = 1.0
    content: bool = True
    policies: tuple[str, ...] = ()
    drawn: bool = False


@dataclass
class _Held:
    since: float  # monotonic time of its first span
    spans: list[ReadableSpan] = field(default_factory=list)


class TailSamplingProcessor(SpanProcessor):
    def __init__(self, policy: SamplingPolicy, downstream: Sequence[SpanProcessor],
                 on_decision: Callable[[Decision], None] | None = None) -> None:
        """`on_decision` hears of every decision (the sampler's own counter on /metrics)."""
        self.policy, self.downstream, self.on_decision = policy, tuple(downstream), on_decision
        self._held: OrderedDict[int, _Held] = OrderedDict()  # trace id -> its spans, oldest first
        self._decided: OrderedDict[int, Decision] = OrderedDict()  # for spans that end after their root
        self._durations: deque[float] = deque()  # the recent traces' durations, arrival order ...
        self._sorted: list[float] = []  # ... and sorted, for the slow tail's percentile
        self._lock = threading.Lock()
        self.kept = self.dropped = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for p in self.downstream:
            p.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        trace_id = span.context.trace_id
        ready: list[tuple[Decision, list[ReadableSpan]]] = []
        with self._lock:
            if (late := self._decided.get(trace_id)) is not None:
                ready.append((late, [span]))
            else:
                held = self._held.setdefault(trace_id, _Held(time.monotonic()))
                held.spans.append(span)
                if span.parent is None or span.parent.is_remote:  # the trace's local root: all its spans are in
                    ready.append(self._decide(trace_id))
            ready += self._overdue()
        for decision, spans in ready:
            self._forward(decision, spans)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Decide every trace still held (their roots have not ended), then flush what is behind."""
        with self._lock:
            ready = [self._decide(t) for t in list(self._held)]
        for decision, spans in ready:
            self._forward(decision, spans)
        return all(p.force_flush(timeout_millis) for p in self.downstream)

    def shutdown(self) -> None:
        self.force_flush()
        for p in self.downstream:
            p.shutdown()

    def _overdue(self) -> list[tuple[Decision, list[ReadableSpan]]]:
        """Traces held past `decision_wait`, or beyond `num_traces`, decided now with what they have."""
        deadline, ready = time.monotonic() - self.policy.decision_wait_s, []
        while self._held:
            trace_id, held = next(iter(self._held.items()))
            if held.since > deadline and len(self._held) <= self.policy.num_traces:
                break
            ready.append(self._decide(trace_id))
        return ready

    def _decide(self, trace_id: int) -> tuple[Decision, list[ReadableSpan]]:
        spans = self._held.pop(trace_id).spans
        decision = self.decide(trace_id, spans)
        self._decided[trace_id] = decision
        while len(self._decided) > self.policy.num_traces:
            self._decided.popitem(last=False)
        if decision.keep:
            self.kept += 1
        else:
            self.dropped += 1
        if self.on_decision is not None:
            self.on_decision(decision)
        return decision, spans

    def decide(self, trace_id: int, spans: Sequence[ReadableSpan]) -> Decision:
        """Kept when any policy keeps it, or when the slow tail does; weighted 1 unless only a draw kept it."""
        by_rule = [p.name for p in self.policy.policies if p.type != "probabilistic" and p.keeps(spans, trace_id)]
        if self._in_slow_tail(trace_duration_s(spans)):
            by_rule.append("goldgate.slow_tail")
        drawn = [p for p in self.policy.policies if p.type == "probabilistic" and p.keeps(spans, trace_id)]
        extras = self.policy.goldgate
        content = probabilistic_draw(trace_id, extras.content_hash_salt) < extras.content_sampling_percentage / 100
        if by_rule:
            return Decision(True, 1.0, content, tuple(by_rule + [p.name for p in drawn]), bool(drawn))
        if drawn:
            return Decision(True, 100 / drawn[0].probabilistic.sampling_percentage, content, (drawn[0].name,), True)
        return Decision(False)

    def _in_slow_tail(self, duration_s: float) -> bool:
        tail = self.policy.goldgate.slow_tail
        if tail is None:
            return False
        slow = len(self._sorted) >= tail.min_traces and \
            duration_s > self._sorted[min(len(self._sorted) - 1, int(len(self._sorted) * tail.percentile / 100))]
        self._durations.append(duration_s)
        bisect.insort(self._sorted, duration_s)
        if len(self._durations) > tail.window:
            self._sorted.pop(bisect.bisect_left(self._sorted, self._durations.popleft()))
        return slow

    def _forward(self, decision: Decision, spans: list[ReadableSpan]) -> None:
        if not decision.keep:
            return
        for span in spans:
            marked = _marked(span, decision)
            for p in self.downstream:
                p.on_end(marked)


def _marked(span: ReadableSpan, decision: Decision) -> ReadableSpan:
    """The span with its weight and whether the draw kept it (and, on the root, the policies that kept it), and without its content
    when the trace's content was not sampled."""
    attrs = {k: v for k, v in (span.attributes or {}).items() if decision.content or k not in CONTENT_KEYS}
    attrs[SAMPLE_WEIGHT], attrs[DRAWN] = decision.weight, decision.drawn
    if span.parent is None or span.parent.is_remote:
        attrs[SAMPLED_BY] = list(decision.policies)
    events = [e for e in span.events if decision.content or e.name != INFERENCE_DETAILS_EVENT]
    return ReadableSpan(name=span.name, context=span.context, parent=span.parent, resource=span.resource,
                        attributes=attrs, events=events, links=span.links, kind=span.kind, status=span.status,
                        start_time=span.start_time, end_time=span.end_time,
                        instrumentation_scope=span.instrumentation_scope)
