"""Has the traffic drifted? The last hour, day or week of production spans against the one before it (or
one run's answers against another's): each check's effect against its threshold, its Holm-adjusted
p-value and the alarms (what `goldgate drift` exits 1 on), and the two windows' length distributions."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import db_path, pick_run, query, store_version
from evals.analysis.drift import DriftReport, drift_report
from evals.durations import format_duration, parse_duration
from evals.render.drift import drift_json
from evals.errors import EvalInputError
from evals.store.drift_samples import CONTENT, content_rows, run_answers, traffic_between
from evals.store.retention import record_content_read
from evals.store.store import Store, now

LENGTHS = ("1h", "6h", "1d", "7d", "30d")


@st.cache_data(show_spinner=False, max_entries=32)
def _windows(db: str, version: tuple[int, ...], windows: tuple) -> list[pd.DataFrame]:
    store = Store(db)
    return [run_answers(store, w) if isinstance(w, str) else traffic_between(store, *w) for w in windows]


def _audited(frames: list[pd.DataFrame], labels: tuple[str, str]) -> list[pd.DataFrame]:
    """The windows, their captured content in them only once its read is in the audit log (once per window
    and session); without the record, the content checks go without it."""
    recorded = st.session_state.setdefault("drift_content_read", set())
    out = []
    for frame, label in zip(frames, labels):
        n = content_rows(frame)
        if n and label not in recorded:
            try:
                record_content_read(Store(db_path()), "dashboard:drift", label, n)
                recorded.add(label)
            except EvalInputError as e:
                st.warning(f"Captured content left out: its read could not be recorded in the audit log ({e}).")
                frame = frame.assign(**{c: None for c in frame.attrs[CONTENT]})
        out.append(frame)
    return out


def _table(report: DriftReport) -> pd.DataFrame:
    rows = drift_json(report, ("", ""))["checks"]
    return pd.DataFrame([{"check": r["check"], "n (baseline / current)": f"{r['n_baseline']} / {r['n_current']}",
                          "effect": r.get("effect"), "measure": r["measure"], "threshold": r["threshold"],
                          "p (Holm)": r.get("p_adjusted"),
                          "status": "ALARM" if r.get("alarm") else (f"skipped: {r['skipped']}" if r["skipped"] else "ok")}
                         for r in rows])


def _lengths(baseline: pd.DataFrame, current: pd.DataFrame, column: str) -> alt.Chart:
    rows = pd.concat([pd.DataFrame({"tokens": w[column].dropna(), "window": name})
                      for name, w in (("baseline", baseline), ("current", current))])
    return alt.Chart(rows).transform_joinaggregate(n="count()", groupby=["window"]).transform_calculate(
        share="1 / datum.n").mark_bar(opacity=0.55).encode(
        x=alt.X("tokens:Q", bin=alt.Bin(maxbins=30), title=column.replace("_", " ")),
        y=alt.Y("sum(share):Q", stack=None, title="share of requests"),
        color=alt.Color("window:N", scale=alt.Scale(domain=["baseline", "current"]))).properties(height=180)


st.title("Drift")
db = db_path()
if not db.exists():
    st.info(f"No store at `{db}` yet: `goldgate serve --db {db}` stores production spans, `goldgate run` stores runs.")
else:
    mode = st.radio("Compare", ["production traffic", "two runs"], horizontal=True, key="drift-mode")
    if mode == "two runs":
        runs = query("runs")
        if len(runs) < 2:
            st.info("Two runs are needed: `goldgate run` stores each.")
            st.stop()
        left, right = st.columns(2)
        with left:
            base = pick_run(runs, "Baseline run", key="a", index=1)
        with right:
            cur = pick_run(runs, "Current run", key="b")
        windows, labels = (base, cur), (f"run:{base}", f"run:{cur}")
    else:
        length = st.selectbox("Window", LENGTHS, index=2, key="drift-window",
                              format_func=lambda w: f"the last {w} against the {w} before it")
        seconds = parse_duration(length)
        at, span = now().replace(second=0, microsecond=0), timedelta(seconds=seconds)
        windows = ((at - 2 * span, at - span), (at - span, at))
        labels = (f"{format_duration(2 * seconds)}..{length} before {at:%Y-%m-%d %H:%M}",
                  f"{length}.. before {at:%Y-%m-%d %H:%M}")
    baseline, current = _audited(_windows(str(db), store_version(db), windows), labels)
    report = drift_report(baseline, current)
    st.caption(f"`goldgate drift --baseline {labels[0].split()[0]} --current {labels[1].split()[0]}` prints the "
               "same report.")
    if report.alarms:
        st.error(f"{len(report.alarms)} drift alarm(s): " + ", ".join(c.name for c in report.alarms))
    elif all(c.skipped for c in report.checks):
        st.info(f"Too little traffic to compare: {len(baseline)} requests in the baseline, {len(current)} now.")
    else:
        st.success("No drift: every check is under its threshold or within noise.")
    st.dataframe(_table(report), hide_index=True, width="stretch",
                 column_config={"effect": st.column_config.NumberColumn(format="%.4f"),
                                "p (Holm)": st.column_config.NumberColumn(format="%.2g")})
    if len(baseline) and len(current):  # the two windows' length distributions, overlaid
        for col, column in zip(st.columns(2), ("input_tokens", "output_tokens")):
            col.altair_chart(_lengths(baseline, current, column), width="stretch")
