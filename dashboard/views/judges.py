"""The judges' calibration reports: Cohen's kappa with its CI per rubric dimension, the confusion
matrix of judge against human consensus as a heat map, and the disagreements to read."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import query, store_or_empty_state

st.title("Judges")
if store_or_empty_state() is not None:
    calibrations = query("calibrations")
    if calibrations.empty:
        st.info("No judge calibrated yet. Label answers on the Label page, then run "
                "`goldgate calibrate --judge PROMPT --dataset GOLDEN --from-store`.")
    else:
        st.subheader("Agreement with human labels")
        st.dataframe(calibrations.drop(columns="report"), hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.3f")
                                    for c in ("kappa", "kappa_low", "kappa_high")})
        keys = list(zip(calibrations["calibration_id"], calibrations["dimension"]))
        chosen = st.selectbox("Report", keys, format_func=lambda k: f"{k[0]} / {k[1]}")
        report = json.loads(calibrations.loc[(calibrations["calibration_id"] == chosen[0])
                                             & (calibrations["dimension"] == chosen[1]), "report"].iloc[0])
        left, right = st.columns(2)
        confusion = report["confusion"]
        cells = pd.DataFrame([{"judge": j, "consensus": c, "count": n}
                              for j, row in zip(confusion["labels"], confusion["matrix"])
                              for c, n in zip(confusion["labels"], row)])
        with left:
            st.caption("Judge (rows) against the raters' consensus (columns)")
            heat = alt.Chart(cells).encode(x="consensus:O", y="judge:O")
            st.altair_chart(heat.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")))
                            + heat.mark_text().encode(text="count:Q"), width="stretch")
        with right:
            st.metric("Cohen's kappa", f"{report['kappa']:.3f}" if report["kappa"] is not None else "undefined",
                      report["verdict"], delta_color="off")
            st.write(f"{report['n_items']} items, raters: {', '.join(report['raters'])}; "
                     f"Krippendorff's alpha {report['alpha'] if report['alpha'] is None else round(report['alpha'], 3)}")
        st.subheader("Disagreements")
        st.dataframe(pd.DataFrame(report["disagreements"]), hide_index=True, width="stretch")
