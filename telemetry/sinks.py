"""goldgate's own span sinks: a JSONL file (one OTLP-style JSON span per line) and rows for the DuckDB
store's `spans` table, buffered here and written by the store inside its own transactions (telemetry
knows no store; the store's file admits one writer at a time)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import format_span_id, format_trace_id

RUN_ID = "goldgate.run.id"
EXAMPLE_ID = "goldgate.example.id"
TTFT = "goldgate.time_to_first_token_s"  # for every generation; the conventions' time_to_first_chunk is for streams
REQUESTS_WAITING = "goldgate.engine.requests_waiting"  # the engine's state as the request finished
KV_CACHE_USAGE = "goldgate.engine.kv_cache_usage"

# The columns of the store's spans table, in the order of a SpanRow: the span, then typed copies of the
# attributes a dashboard aggregates
SPAN_COLUMNS = ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time", "status_code",
                "attributes", "events", "run_id", "example_id", "model", "duration_s", "ttft_s", "tpot_s",
                "input_tokens", "output_tokens", "error_type", "finish_reason", "requests_waiting", "kv_cache_usage")
SpanRow = tuple[Any, ...]


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
    """Finished spans as store rows, held until the store drains them."""

    def __init__(self) -> None:
        self._rows: list[SpanRow] = []
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows = [span_row(s) for s in spans]
        with self._lock:
            self._rows.extend(rows)
        return SpanExportResult.SUCCESS

    def drain(self) -> list[SpanRow]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows


def span_row(span: ReadableSpan) -> SpanRow:
    ctx, attrs = span.context, dict(span.attributes or {})
    events = [{"name": e.name, "time": _time(e.timestamp).isoformat(), "attributes": _plain(e.attributes)}
              for e in span.events]
    output_tokens, decode_s = attrs.get(g.GEN_AI_USAGE_OUTPUT_TOKENS), attrs.get("goldgate.decode_time_s")
    finish = attrs.get(g.GEN_AI_RESPONSE_FINISH_REASONS) or (None,)
    return (format_trace_id(ctx.trace_id), format_span_id(ctx.span_id),
            format_span_id(span.parent.span_id) if span.parent else None, span.name, span.kind.name,
            _time(span.start_time), _time(span.end_time), span.status.status_code.name, json.dumps(_plain(attrs)),
            json.dumps(events), attrs.get(RUN_ID), attrs.get(EXAMPLE_ID), attrs.get(g.GEN_AI_REQUEST_MODEL),
            ((span.end_time or 0) - (span.start_time or 0)) / 1e9, attrs.get(TTFT),
            decode_s / (output_tokens - 1) if decode_s is not None and output_tokens and output_tokens > 1 else None,
            attrs.get(g.GEN_AI_USAGE_INPUT_TOKENS), output_tokens, attrs.get(error_attributes.ERROR_TYPE), finish[0],
            attrs.get(REQUESTS_WAITING), attrs.get(KV_CACHE_USAGE))


def _time(ns: int | None) -> datetime:
    return datetime.fromtimestamp((ns or 0) / 1e9, timezone.utc).replace(tzinfo=None)


def _plain(attrs: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attrs or {}).items()}
