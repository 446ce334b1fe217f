"""Production requests whose input was captured, as harvest reads them: the generation span's trace, its
captured system instructions and input messages, and the attribution it carried."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g

from evals.store.slo_events import GENERATION
from evals.store.spans import attribute_sql
from evals.store.store import Store
from telemetry.attribution import PROMPT_VERSION, TENANT

LABELS = ("feature", "variant", "tenant", "prompt_version", "model", "finish_reason")  # a harvested example's labels


_SELECT = (f"SELECT trace_id, {attribute_sql(g.GEN_AI_SYSTEM_INSTRUCTIONS)} AS system_instructions, "
           f"{attribute_sql(g.GEN_AI_INPUT_MESSAGES)} AS input_messages, "
           f"{attribute_sql(g.GEN_AI_OUTPUT_MESSAGES)} AS output_messages, feature, variant, "
           f"{attribute_sql(TENANT)} AS tenant, {attribute_sql(PROMPT_VERSION)} AS prompt_version, model, "
           f"finish_reason, output_tokens, duration_s FROM spans WHERE {GENERATION}")


def captured_requests(store: Store, since: datetime) -> pd.DataFrame:
    """Generations outside any run that ended after `since` (naive UTC) with their input captured, oldest
    first: trace_id, system_instructions, input_messages and output_messages (the conventions' JSON),
    LABELS, output_tokens and duration_s."""
    sql = (f"{_SELECT} AND run_id IS NULL AND end_time > $since AND {attribute_sql(g.GEN_AI_INPUT_MESSAGES)} "
           "IS NOT NULL ORDER BY end_time, trace_id")
    with store.read() as con:
        return con.execute(sql, {"since": since}).df()


def trace_generations(store: Store, trace_id: str) -> pd.DataFrame:
    """The generations of one trace, in the same columns, whether or not their content was captured."""
    with store.read() as con:
        return con.execute(f"{_SELECT} AND trace_id = $t ORDER BY start_time", {"t": trace_id}).df()
