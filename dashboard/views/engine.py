"""The engine's four golden signals from the span table: latency (time to first token, time per output
token, total: p50/p95/p99 and histograms; the decode rate's histogram), traffic (requests and tokens per second), errors in their
three classes, and saturation (queue depth, KV cache use and the prefix cache's hit rate over time); by
model and by run."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.data import query, store_or_empty_state

st.title("Engine")
runs = store_or_empty_state()
if runs is not None:
    left, right = st.columns(2)
    model = left.selectbox("Model", [None, *query("models")], format_func=lambda m: m or "all")
    run_id = right.selectbox("Run", [None, *runs["run_id"]], format_func=lambda r: r or "all (runs and serving)")
    percentiles = query("latency_percentiles", model=model, run_id=run_id)
    if percentiles.empty or not percentiles["requests"].iloc[0]:
        st.info("No engine spans here yet: `goldgate run` stores them, and so does `goldgate serve --db`.")
    else:
        st.subheader("Latency")
        table = percentiles.assign(p50=lambda d: d["p"].str[0], p95=lambda d: d["p"].str[1], p99=lambda d: d["p"].str[2])
        st.dataframe(table[["signal", "p50", "p95", "p99", "requests"]], hide_index=True, width="stretch",
                     column_config={p: st.column_config.NumberColumn(f"{p} (s)", format="%.4f")
                                    for p in ("p50", "p95", "p99")})
        histogram = query("latency_histogram", model=model, run_id=run_id)
        st.altair_chart(alt.Chart(histogram).mark_rect().encode(
            x=alt.X("low:Q", scale=alt.Scale(type="log"), title="seconds (log)"), x2="high:Q",
            y=alt.Y("requests:Q"), y2=alt.datum(0), color=alt.Color("signal:N", legend=None),
            tooltip=["signal", "low", "high", "requests"],
        ).properties(height=140).facet(row=alt.Row("signal:N", title=None)).resolve_scale(x="independent"))
        rates = query("decode_rate_histogram", model=model, run_id=run_id)
        if not rates.empty:
            st.caption("Decode rate: output tokens per second after the first (a slow batch or a preempted "
                       "request is the left tail).")
            st.altair_chart(alt.Chart(rates).mark_rect().encode(
                x=alt.X("low:Q", scale=alt.Scale(type="log"), title="decode tokens / s (log)"), x2="high:Q",
                y=alt.Y("requests:Q"), y2=alt.datum(0), tooltip=["low", "high", "requests"]).properties(height=140),
                width="stretch")

        st.subheader("Errors")
        errors = query("error_counts", model=model, run_id=run_id)
        for column, (name, count) in zip(st.columns(3), errors.items()):
            column.metric(f"{name} errors", count)

        traffic = query("traffic", model=model, run_id=run_id)
        st.subheader("Traffic")
        base = alt.Chart(traffic).encode(x=alt.X("t:T", title=None))
        cols = st.columns(2)
        cols[0].altair_chart(base.mark_line().encode(y=alt.Y("requests_per_s:Q", title="requests / s")),
                             width="stretch")
        cols[1].altair_chart(base.mark_line().encode(y=alt.Y("output_tokens_per_s:Q", title="output tokens / s")),
                             width="stretch")
        st.subheader("Saturation")
        cols = st.columns(2)
        cols[0].altair_chart(base.mark_line().encode(y=alt.Y("queue_depth:Q", title="requests waiting")),
                             width="stretch")
        cols[1].altair_chart(base.mark_area(opacity=0.6).encode(
            y=alt.Y("kv_cache_usage:Q", title="KV cache in use", scale=alt.Scale(domain=[0, 1]))),
            width="stretch")
        st.altair_chart(base.mark_line(point=True).encode(
            y=alt.Y("prefix_cache_hit_rate:Q", title="prefix cache hits (share of prompt tokens)",
                    scale=alt.Scale(domain=[0, 1]))), width="stretch")
