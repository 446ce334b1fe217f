"""One run: its metrics by slice (estimate, CI, N), and the examples browser, filtered by slice, outcome
and latency, each example linked to its trace."""

from __future__ import annotations

import streamlit as st

from dashboard.data import example_filters, pick_run, query, store_or_empty_state

st.title("Run")
runs = store_or_empty_state()
if runs is not None:
    run_id = pick_run(runs)
    metrics = query("run_metrics", run_id=run_id)
    split = st.radio("Split", sorted(metrics["split"].unique(), reverse=True) or ["public"], horizontal=True)
    st.subheader("Metrics by slice")
    st.dataframe(metrics[metrics["split"] == split].drop(columns="split"), hide_index=True,
                 width="stretch", column_config={
                     "estimate": st.column_config.NumberColumn(format="%.3f"),
                     "low": st.column_config.NumberColumn("CI low", format="%.3f"),
                     "high": st.column_config.NumberColumn("CI high", format="%.3f")})

    st.subheader("Examples")
    rows = query("examples", run_id=run_id, **example_filters(run_id))
    rows["trace"] = [f"traces?trace={t}&example={e}" if t else None for t, e in zip(rows["trace_id"], rows["example_id"])]
    st.caption(f"{len(rows)} answers shown (at most 200)")
    st.dataframe(rows.drop(columns=["trace_id"]), hide_index=True, width="stretch", column_config={
        "trace": st.column_config.LinkColumn("trace", display_text="open trace"),
        "latency_s": st.column_config.NumberColumn(format="%.2f s")})
