"""Find a trace by id, by example, or among a run's examples (each example is its own trace; filtered by
slice, outcome and latency), and read it as a waterfall of its span tree; the selected span's gen_ai.*
(and every other) attribute below. Captured content shows only once its read is in the audit log."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import db_path, example_filters, pick_run, query, store_or_empty_state
from evals.errors import EvalInputError
from evals.store.retention import record_content_read
from evals.store.store import Store
from telemetry.messages import CONTENT_KEYS, INFERENCE_DETAILS_EVENT


def content_may_show(trace_id: str, attributes: dict, events: list) -> bool:
    """Captured content is shown only once its read is in the audit log (once per trace and session); a
    span without content needs no record."""
    if not (attributes.keys() & set(CONTENT_KEYS) or any(e.get("name") == INFERENCE_DETAILS_EVENT for e in events)):
        return True
    shown = st.session_state.setdefault("content_read", set())
    if trace_id not in shown:
        try:
            record_content_read(Store(db_path()), "dashboard:traces", trace_id, 1)
        except EvalInputError as e:
            st.warning(f"Captured content hidden: its read could not be recorded in the audit log ({e}).")
            return False
        shown.add(trace_id)
    return True


def tree_order(spans: pd.DataFrame) -> pd.DataFrame:
    """Spans depth first (children after their parent, by start), with their depth, for the waterfall."""
    children: dict[str | None, list[int]] = {}
    ids = set(spans["span_id"])
    for i, parent in enumerate(spans["parent_span_id"]):
        children.setdefault(parent if parent in ids else None, []).append(i)
    order, depth, stack = [], [], [(i, 0) for i in reversed(children.get(None, []))]
    while stack:
        i, d = stack.pop()
        order.append(i)
        depth.append(d)
        stack.extend((c, d + 1) for c in reversed(children.get(spans["span_id"].iloc[i], [])))
    out = spans.iloc[order].assign(depth=depth)
    return out.assign(row=[f"{'  ' * d}{n}  ·{s[:6]}" for d, n, s in zip(out["depth"], out["name"], out["span_id"])])


st.title("Traces")
runs = store_or_empty_state()
if runs is not None:
    params = st.query_params
    by = st.radio("Find by", ["trace id", "run", "example"], horizontal=True,
                  index=2 if params.get("example") else 0 if params.get("trace") else 1)
    trace_id = example_id = None
    if by == "run":  # a trace per example: the run's examples, filtered, each one's trace to open
        run_id = pick_run(runs)
        found = query("examples", run_id=run_id, **example_filters(run_id))
        found = found[found["trace_id"].notna()][["example_id", "epoch", "outcome", "latency_s", "cost", "trace_id"]]
        st.caption(f"{len(found)} example traces shown (at most 200)")
    else:
        if by == "trace id":
            trace_id = st.text_input("Trace id (32 hex digits)", params.get("trace", "")).strip() or None
        else:
            example_id = st.text_input("Example id", params.get("example", "")).strip() or None
        found = query("find_traces", trace_id=trace_id, example_id=example_id) \
            if trace_id or example_id else pd.DataFrame()
    if found.empty:
        st.info("No trace matches." if by == "run" or trace_id or example_id else "Give a trace id or an example.")
    else:
        st.dataframe(found, hide_index=True, width="stretch")
        labels = dict(zip(found["trace_id"], found["example_id"] + " · epoch " + found["epoch"].astype(str))) \
            if by == "run" else {}
        chosen = st.selectbox("Trace", found["trace_id"].tolist(), key="trace",
                              format_func=lambda t: f"{labels[t]} · {t}" if t in labels else t)
        spans = query("trace_spans", trace_id=chosen, example_id=example_id)
        if len(spans) > 1:
            spans = tree_order(spans)
            st.caption(f"{len(spans)} spans" + (f" of example {example_id}" if example_id else ""))
            st.altair_chart(alt.Chart(spans).mark_bar().encode(
                x=alt.X("start_s:Q", title="seconds from the trace's start"), x2="end_s:Q",
                y=alt.Y("row:N", sort=None, title=None), color=alt.Color("kind:N"),
                tooltip=["name", "kind", "status_code", "start_s", "end_s"],
            ).properties(height=min(24 * len(spans), 2400)), width="stretch")
        picked = st.selectbox("Span", spans.index.tolist(), format_func=lambda i: spans.loc[i, "name"])
        span = spans.loc[picked]
        st.write(f"**{span['name']}** · {span['kind']} · {span['status_code']} · "
                 f"{span['end_s'] - span['start_s']:.4f} s")
        attributes, events = json.loads(span["attributes"]), json.loads(span["events"] or "[]")
        if not content_may_show(chosen, attributes, events):
            attributes = {k: v for k, v in attributes.items() if k not in CONTENT_KEYS}
            events = [e for e in events if e.get("name") != INFERENCE_DETAILS_EVENT]
        st.json({k: v for k, v in attributes.items() if k.startswith("gen_ai.")} or {"gen_ai.*": "none on this span"})
        with st.expander("Every attribute and event"):
            st.json({"attributes": attributes, "events": events})
