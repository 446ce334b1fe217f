"""goldgate's own span sinks: a JSONL file (one OTLP-style JSON span per line) and finished spans as plain
records, buffered here until the DuckDB store writes them inside its own transactions (telemetry knows
no store and no table; the store's file admits one writer at a time)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
from opentelemetry.semconv.attributes import error_attributes, http_attributes
from opentelemetry.trace import format_span_id, format_trace_id

from telemetry.attribution import FEATURE, VARIANT
from telemetry.prices import COST
from telemetry.tail_sampler import SAMPLE_WEIGHT

RUN_ID = "goldgate.run.id"
EXAMPLE_ID = "goldgate.example.id"
TTFT = "goldgate.time_to_first_token_s"  # for every generation; the conventions' time_to_first_chunk is for streams
REQUESTS_WAITING = "goldgate.engine.requests_waiting"  # the engine's state as the request finished
KV_CACHE_USAGE = "goldgate.engine.kv_cache_usage"



@dataclass(frozen=True)
class SpanRecord:
    """A finished span as plain values: its identity and timing, its attributes and events as JSON, and
    typed copies of the attributes a dashboard aggregates. The store decides which become columns."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_time: datetime
    end_time: datetime
    status_code: str
    attributes: str  # JSON
    events: str  # JSON
    run_id: str | None
    example_id: str | None
    model: str | None
    duration_s: float
    ttft_s: float | None
    tpot_s: float | None
    input_tokens: int | None
    output_tokens: int | None
    error_type: str | None
    finish_reason: str | None
    requests_waiting: int | None
    kv_cache_usage: float | None
    http_status: int | None
    cost: float | None
    feature: str | None
    variant: str | None
    sample_weight: float | None = None  # set by tail sampling: the traces this one stands for


class JsonlSpanExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(lines)
        return SpanExportResult.SUCCESS


class SpanRowBuffer(SpanExporter):
    """Finished spans as records, held until the store drains them into its table."""

    def __init__(self) -> None:
        self._rows: list[SpanRecord] = []
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows = [span_record(s) for s in spans]
        with self._lock:
            self._rows.extend(rows)
        return SpanExportResult.SUCCESS

    def add(self, rows: Sequence[SpanRecord]) -> None:
        """Records of spans finished elsewhere (a Ray actor's), to be stored with these."""
        with self._lock:
            self._rows.extend(rows)

    def drain(self) -> list[SpanRecord]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows


def span_record(span: ReadableSpan) -> SpanRecord:
    ctx, attrs = span.context, dict(span.attributes or {})
    events = [{"name": e.name, "time": _time(e.timestamp).isoformat(), "attributes": _plain(e.attributes)}
              for e in span.events]
    output_tokens, decode_s = attrs.get(g.GEN_AI_USAGE_OUTPUT_TOKENS), attrs.get("goldgate.decode_time_s")
    finish = attrs.get(g.GEN_AI_RESPONSE_FINISH_REASONS) or (None,)
    return SpanRecord(format_trace_id(ctx.trace_id), format_span_id(ctx.span_id),
                      format_span_id(span.parent.span_id) if span.parent else None, span.name, span.kind.name,
                      _time(span.start_time), _time(span.end_time), span.status.status_code.name,
                      json.dumps(_plain(attrs)), json.dumps(events), attrs.get(RUN_ID), attrs.get(EXAMPLE_ID),
                      attrs.get(g.GEN_AI_REQUEST_MODEL), ((span.end_time or 0) - (span.start_time or 0)) / 1e9,
                      attrs.get(TTFT),
                      decode_s / (output_tokens - 1) if decode_s is not None and output_tokens and output_tokens > 1
                      else None,
                      attrs.get(g.GEN_AI_USAGE_INPUT_TOKENS), output_tokens, attrs.get(error_attributes.ERROR_TYPE),
                      finish[0], attrs.get(REQUESTS_WAITING), attrs.get(KV_CACHE_USAGE),
                      attrs.get(http_attributes.HTTP_RESPONSE_STATUS_CODE), attrs.get(COST), attrs.get(FEATURE),
                      attrs.get(VARIANT), attrs.get(SAMPLE_WEIGHT))


def _time(ns: int | None) -> datetime:
    return datetime.fromtimestamp((ns or 0) / 1e9, timezone.utc).replace(tzinfo=None)


def _plain(attrs: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attrs or {}).items()}
