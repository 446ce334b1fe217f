"""What drift compares: one row per generation in a window of production traffic (spans outside any run,
between two times) or in one run (its results, with the spans' captured input where there is one). A
tail-sampled store contributes only the traces its baseline draw kept: the rules keep every error and
slow trace, so the sample as a whole is not the traffic's distribution, but the draw's share is."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from evals.store.slo_events import GENERATION
from evals.store.store import Store
from telemetry.messages import messages_text
from telemetry.tail_sampler import DRAWN

COLUMNS = ("input_tokens", "output_tokens", "finish_reason", "failed", "input_text", "output_text")
_UNIFORM = f"(sample_weight IS NULL OR json_extract(attributes, '$.\"{DRAWN}\"')::BOOLEAN)"
_INPUT, _OUTPUT = ("json_extract_string(attributes, '$.\"gen_ai.input.messages\"')",
                   "json_extract_string(attributes, '$.\"gen_ai.output.messages\"')")


def traffic_between(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """Production generations that ended in (start, end]: naive UTC, as the store keeps times."""
    sql = (f"SELECT input_tokens, output_tokens, finish_reason, status_code = 'ERROR' AS failed, "
           f"{_INPUT} AS input_messages, {_OUTPUT} AS output_messages FROM spans "
           f"WHERE {GENERATION} AND run_id IS NULL AND end_time > $start AND end_time <= $end AND {_UNIFORM}")
    with store.read() as con:
        frame = con.execute(sql, {"start": start, "end": end}).df()
    return frame.assign(input_text=frame.pop("input_messages").map(messages_text),
                        output_text=frame.pop("output_messages").map(messages_text))[list(COLUMNS)]


def run_answers(store: Store, run_id: str) -> pd.DataFrame:
    """One run's answers (every epoch), their input text from the generation span where it was captured."""
    sql = (f"SELECT r.prompt_tokens AS input_tokens, r.completion_tokens AS output_tokens, r.finish_reason, "
           f"r.error IS NOT NULL AS failed, s.input_messages, r.output AS output_text FROM results r "
           f"LEFT JOIN (SELECT trace_id, span_id, {_INPUT} AS input_messages FROM spans WHERE run_id = $r) s "
           f"ON s.trace_id = r.trace_id AND s.span_id = r.generation_span_id WHERE r.run_id = $r")
    with store.read() as con:
        frame = con.execute(sql, {"r": run_id}).df()
    return frame.assign(input_text=frame.pop("input_messages").map(messages_text))[list(COLUMNS)]

