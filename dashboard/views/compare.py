"""Two runs side by side: the gate's verdict on them and its failing checks first, then a forest plot of
per-slice differences with their CIs for the gated metric (the first failing one, else the first gated),
the flips, guard rails and the noise floor (the same comparison `goldgate compare` prints)."""

from __future__ import annotations

from dataclasses import asdict

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import db_path, pick_run, query, store_or_empty_state, store_version
from evals.analysis.compare import compare
from evals.analysis.report import DIMENSIONS
from evals.errors import EvalInputError
from evals.store.store import Store


@st.cache_data(show_spinner="Comparing runs...")
def comparison(db: str, version: tuple[int, ...], run_a: str, run_b: str, split: str) -> dict:
    c = compare(Store(db), run_a, run_b, split=split)
    return {"diffs": pd.DataFrame([asdict(d) for d in c.diffs]), "flips": c.flips, "n": c.n_examples,
            "rails": pd.DataFrame([{"guard rail": g.name, "A": g.a, "B": g.b, "B-A": g.change} for g in c.guard_rails])}


st.title("Compare")
runs = store_or_empty_state()
if runs is not None and len(runs) < 2:
    st.info("Comparing needs two runs on the same golden set; this store has one.")
elif runs is not None:
    left, right = st.columns(2)
    with left:
        run_a = pick_run(runs, "A (baseline)", key="a", index=1)
    with right:
        run_b = pick_run(runs, "B (candidate)", key="b", index=0)
    split = st.radio("Split", ["public", "holdout"], horizontal=True)
    try:
        c = comparison(str(db_path()), store_version(db_path()), run_a, run_b, split)
    except EvalInputError as e:
        st.warning(f"These runs cannot be compared: {e}")
    else:
        diffs = c["diffs"]
        gate = query("gate_of", candidate=run_b, baseline=run_a)
        failing = [k for k in gate["checks"] if k["status"] == "fail"] if gate else []
        if gate is None:
            st.info("No gate verdict on B against A yet: `goldgate gate --candidate B --baseline A --policy FILE` "
                    "stores one.")
        elif gate["passed"]:
            st.success(f"Gate passed ({len(gate['checks'])} checks, {gate['at']:%Y-%m-%d %H:%M} UTC)")
        else:
            st.error(f"Gate failed: {gate['n_failed']} of {len(gate['checks'])} checks ({gate['at']:%Y-%m-%d %H:%M} UTC)")
            st.dataframe(pd.DataFrame(failing)[["name", "detail"]], hide_index=True, width="stretch")
        st.caption(f"{c['n']} examples in both runs; B - A with 95% paired bootstrap CIs.")
        names = sorted(diffs["metric"].unique(), key=lambda m: (m in DIMENSIONS, m))  # scores first
        checked = failing + (gate["checks"] if gate else [])  # a failing metric first, else the first gated one
        gated = [k["name"].split(" @ ")[0] for k in checked if " @ " in k["name"]]
        metric = st.selectbox("Metric", names, index=names.index(gated[0]) if gated and gated[0] in names else 0)
        shown = diffs[diffs["metric"] == metric].assign(
            slice=lambda d: d["slice_key"].where(d["slice_key"] == "all", d["slice_key"] + " = " + d["slice_value"]),
            significant=lambda d: d["excludes_zero"])
        base = alt.Chart(shown).encode(y=alt.Y("slice:N", sort=None, title=None))
        forest = (base.mark_rule().encode(x=alt.X("low:Q", title="B - A"), x2="high:Q")
                  + base.mark_point(filled=True, size=80).encode(
                      x="diff:Q", color=alt.Color("significant:N", title="CI excludes 0"),
                      tooltip=["slice", "n", "a", "b", "diff", "low", "high", "holm_p", "noise_floor", "mde"])
                  + alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q"))
        st.altair_chart(forest, width="stretch")
        st.dataframe(shown[["slice", "n", "a", "b", "diff", "low", "high", "mcnemar_p", "holm_p", "noise_floor",
                            "mde"]], hide_index=True, width="stretch")
        if metric in c["flips"]:
            f = c["flips"][metric]
            st.subheader("Flips")
            st.write(f"{len(f['pass_to_fail'])} pass → fail, {len(f['fail_to_pass'])} fail → pass, "
                     f"{f['stayed_pass']} stayed pass, {f['stayed_fail']} stayed fail")
            cols = st.columns(2)
            cols[0].dataframe(pd.DataFrame({"pass → fail": f["pass_to_fail"]}), hide_index=True)
            cols[1].dataframe(pd.DataFrame({"fail → pass": f["fail_to_pass"]}), hide_index=True)
        st.subheader("Guard rails")
        st.dataframe(c["rails"], hide_index=True)
        floor = shown.loc[shown["slice"] == "all", "noise_floor"]
        st.metric("Noise floor (baseline run-to-run spread)",
                  "unknown: one epoch, no replicates" if floor.isna().all() else f"{floor.iloc[0]:.3f}")
