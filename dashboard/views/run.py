"""One run: its metrics by slice (estimate, CI, N), and the examples browser, filtered by slice and
outcome, each example linked to its trace."""

from __future__ import annotations

import streamlit as st

from dashboard.data import pick_run, query, store_or_empty_state

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
    slices = query("slices", run_id=run_id)
    options = [None, *zip(slices["slice_key"], slices["slice_value"])]
    left, right = st.columns(2)
    chosen = left.selectbox("Slice", options, format_func=lambda o: "all" if o is None else f"{o[0]} = {o[1]}")
    outcome = right.selectbox("Outcome", [None, "pass", "fail", "error"], format_func=lambda o: o or "any")
    rows = query("examples", run_id=run_id, slice_key=chosen[0] if chosen else None,
                 slice_value=chosen[1] if chosen else None, outcome=outcome)
    rows["trace"] = [f"traces?trace={t}&example={e}" if t else None for t, e in zip(rows["trace_id"], rows["example_id"])]
    st.caption(f"{len(rows)} answers shown (at most 200)")
    st.dataframe(rows.drop(columns=["trace_id"]), hide_index=True, width="stretch", column_config={
        "trace": st.column_config.LinkColumn("trace", display_text="open trace"),
        "latency_s": st.column_config.NumberColumn(format="%.2f s")})
