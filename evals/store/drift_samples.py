"""What drift compares: one row per generation in a window of production traffic (spans outside any run,
between two times) or in one run (its results, with the spans' captured input where there is one). A
tail-sampled store contributes only the traces its baseline draw kept: the rules keep every error and
slow trace, so the sample as a whole is not the traffic's distribution, but the draw's share is."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g

from evals.store.slo_events import GENERATION
from evals.store.spans import attribute_sql
from evals.store.store import Store
from telemetry.messages import messages_text
from telemetry.tail_sampler import DRAWN

CONTENT = "content_columns"  # which of a frame's text columns are captured content
COLUMNS = ("input_tokens", "output_tokens", "finish_reason", "failed", "input_text", "output_text")
_UNIFORM = f"(sample_weight IS NULL OR {attribute_sql(DRAWN)}::BOOLEAN)"
_INPUT, _OUTPUT = attribute_sql(g.GEN_AI_INPUT_MESSAGES), attribute_sql(g.GEN_AI_OUTPUT_MESSAGES)


def traffic_between(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """Production generations that ended in (start, end]: naive UTC, as the store keeps times."""
    sql = (f"SELECT input_tokens, output_tokens, finish_reason, status_code = 'ERROR' AS failed, "
           f"{_INPUT} AS input_messages, {_OUTPUT} AS output_messages FROM spans "
           f"WHERE {GENERATION} AND run_id IS NULL AND end_time > $start AND end_time <= $end AND {_UNIFORM}")
    with store.read() as con:
        frame = con.execute(sql, {"start": start, "end": end}).df()
    return _with_content(frame.assign(input_text=frame.pop("input_messages").map(messages_text),
                                      output_text=frame.pop("output_messages").map(messages_text)),
                         "input_text", "output_text")


def run_answers(store: Store, run_id: str) -> pd.DataFrame:
    """One run's answers (every epoch), their input text from the generation span where it was captured."""
    sql = (f"SELECT r.prompt_tokens AS input_tokens, r.completion_tokens AS output_tokens, r.finish_reason, "
           f"r.error IS NOT NULL AS failed, s.input_messages, r.output AS output_text FROM results r "
           f"LEFT JOIN (SELECT trace_id, span_id, {_INPUT} AS input_messages FROM spans WHERE run_id = $r) s "
           f"ON s.trace_id = r.trace_id AND s.span_id = r.generation_span_id WHERE r.run_id = $r")
    with store.read() as con:
        frame = con.execute(sql, {"r": run_id}).df()
    return _with_content(frame.assign(input_text=frame.pop("input_messages").map(messages_text)), "input_text")


def content_rows(frame: pd.DataFrame) -> int:
    """The rows holding captured content (a span's messages, not a run's stored answer), for the audit log."""
    return int(frame[list(frame.attrs[CONTENT])].notna().any(axis=1).sum())


def _with_content(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    frame = frame[list(COLUMNS)]
    frame.attrs[CONTENT] = columns
    return frame
