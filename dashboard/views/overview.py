"""Are we okay: the SLOs' traffic lights, budgets and burn rates; each dataset's latest run and gate
verdict; what generation cost per day by model and feature; the headline metrics over time with their
CI bands (scores on one [0, 1] axis, each recorded dimension on its own, in its own unit); every run's
tokens and time. Runs not comparable are marked."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard.data import query, store_or_empty_state
from dashboard.slo_panel import slo_panel
from evals.analysis.report import DIMENSIONS

UNITS = {"completion_tokens": "tokens", "total_tokens": "tokens", "latency_s": "seconds", "cost": "currency"}

st.title("Overview")
runs = store_or_empty_state()
if runs is not None:
    slo_panel()
    st.subheader("Latest runs")
    latest = runs.drop_duplicates("dataset_name")  # newest first
    for column, (_, run) in zip(st.columns(min(len(latest), 4)), latest.iterrows()):
        gate = query("latest_gate", run_id=run.run_id)
        verdict = "not gated" if gate is None else ("gate passed" if gate["passed"]
                                                     else f"gate failed ({gate['n_failed']} checks)")
        column.metric(run.dataset_name, verdict, f"{run.results} results, {run.errors} errors",
                      delta_color="off" if gate is None else ("normal" if gate["passed"] else "inverse"))
        column.caption(f"latest: {run.run_id} on {run.model_id}")

    cost = query("cost_per_day")
    if not cost.empty:
        st.subheader("Cost per day")
        cols = st.columns(2)
        for column, by in zip(cols, ("model", "feature")):
            column.altair_chart(alt.Chart(cost).mark_bar().encode(
                x=alt.X("yearmonthdate(day):O", title=None), y=alt.Y("sum(cost):Q", title=f"cost, by {by}"),
                color=alt.Color(f"{by}:N"), tooltip=["day:T", by, "sum(cost):Q", "sum(generations):Q"]),
                width="stretch")

    metrics = query("headline_metrics")
    if not metrics.empty:
        st.subheader("Headline metrics over time (95% CI)")
        for dataset, rows in metrics.groupby("dataset_name", sort=True):
            rows = rows.assign(comparable=lambda d: d["dataset_sha256"] == runs.loc[
                runs["dataset_name"] == dataset, "dataset_sha256"].iloc[0])
            scored = rows[~rows["metric"].isin(DIMENSIONS)]
            names = sorted(scored["metric"].unique())
            chosen = st.multiselect(f"{dataset}: scores", names, default=names[:4], key=f"metrics-{dataset}")
            base = alt.Chart(scored[scored["metric"].isin(chosen)]).encode(
                x=alt.X("started_at:T", title="run started"), color=alt.Color("metric:N"))
            band = base.mark_area(opacity=0.2).encode(
                y=alt.Y("low:Q", title="score", scale=alt.Scale(domain=[0, 1])), y2="high:Q")
            line = base.mark_line(point=True).encode(
                y="estimate:Q", shape=alt.Shape("comparable:N", title="same golden set as the latest"),
                tooltip=["run_id", "metric", "estimate", "low", "high", "n"])
            st.altair_chart(band + line, width="stretch")
            recorded = [m for m in DIMENSIONS if m in set(rows["metric"])]
            for column, metric in zip(st.columns(max(len(recorded), 1)), recorded):
                column.altair_chart(alt.Chart(rows[rows["metric"] == metric]).mark_line(point=True).encode(
                    x=alt.X("started_at:T", title=None), y=alt.Y("estimate:Q", title=f"{metric} ({UNITS[metric]})"),
                    tooltip=["run_id", "estimate", "low", "high"]).properties(height=160), width="stretch")

    st.subheader("Runs: tokens and time")
    st.caption("A run whose golden set differs from its dataset's latest is not comparable with it.")
    st.dataframe(runs[["run_id", "tag", "dataset_name", "model_id", "status", "started_at", "results", "errors",
                       "tokens", "generation_s", "comparable"]], hide_index=True, width="stretch")
    st.altair_chart(alt.Chart(runs).mark_bar().encode(
        x=alt.X("run_id:N", sort="-y", title=None), y=alt.Y("tokens:Q", title="tokens (prompt + completion)"),
        color=alt.Color("comparable:N"), tooltip=["run_id", "tokens", "generation_s"]), width="stretch")
