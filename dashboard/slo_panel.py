"""The SLO part of the first tier: a traffic light per SLO (red while a page fires or the budget is gone,
amber while a ticket fires or less than a quarter of the budget is left, green otherwise), its error
budget left, and the burn rate over the last days beside the alert thresholds."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.data import db_path, store_version
from evals.errors import EvalInputError
from evals.settings import Settings
from evals.durations import format_duration
from evals.slo.spec import Cost, load_slos
from evals.slo.status import SloStatus, burn_series, slo_status
from evals.store.store import Store, now

BURN_CHART_DAYS, BURN_BUCKET_S = 3, 3600
LIGHTS = {"red": ":red[●]", "amber": ":orange[●]", "green": ":green[●]"}  # Streamlit's coloured text


def light(s: SloStatus) -> str:
    if s.budget_left <= 0 or any(a.alert.severity == "page" for a in s.firing):
        return "red"
    return "amber" if s.firing or s.budget_left < 0.25 else "green"


@st.cache_data(show_spinner=False, max_entries=16)
def _statuses(slo: str, db: str, version: tuple[int, ...]) -> tuple[list[SloStatus], dict[str, pd.DataFrame]]:
    slos, store, at = load_slos(slo), Store(db), now()
    since = at - timedelta(days=BURN_CHART_DAYS)
    return slo_status(store, slos, at), {o.name: burn_series(store, o, bucket_s=BURN_BUCKET_S, since=since, at=at)
                                         for o in slos.slos}


def _headline(s: SloStatus) -> str:
    if isinstance(s.objective, Cost):
        return f"{s.bad:.4g} of {s.total:.4g} spent"
    return "no traffic yet" if s.sli is None else f"{s.sli:.3%} (target {s.objective.target:.2%})"


def slo_panel() -> None:
    slo = Settings.from_env().slo
    st.subheader("SLOs")
    if slo is None:
        st.caption("No SLOs given: start the dashboard with `goldgate dashboard --slo FILE` to see their error "
                   "budgets and burn rates here (`goldgate slo report` prints the same).")
        return
    try:
        statuses, burns = _statuses(str(slo), str(db_path()), store_version(db_path()))
    except EvalInputError as e:
        st.error(f"The SLOs cannot be read: {e}")
        return
    for column, s in zip(st.columns(len(statuses)), statuses):
        firing = ", ".join(f"**{a.alert.severity} {a.alert.name} firing**" for a in s.firing) or "no alert firing"
        column.metric(f"{LIGHTS[light(s)]} {s.objective.name}", f"{s.budget_left:.0%}",
                      help="the share of the error budget (or spend budget) of the SLO's window not yet spent")
        column.caption(f"budget left · {s.objective.kind} over {format_duration(s.objective.window)}: "
                       f"{_headline(s)} · {firing}")
    st.caption(f"Burn rate per hour over the last {BURN_CHART_DAYS} days (1 spends the budget exactly over the "
               "SLO's window); dashed: each alert's threshold.")
    columns = [c for _ in range(0, len(statuses), 2) for c in st.columns(2)]  # two to a row
    for column, s in zip(columns, statuses):
        series = burns[s.objective.name]
        thresholds = pd.DataFrame({"burn": [a.alert.burn_rate for a in s.alerts],
                                   "alert": [a.alert.name for a in s.alerts]})
        line = alt.Chart(series).mark_line(point=True).encode(
            x=alt.X("t:T", title=None), y=alt.Y("burn:Q", title=f"{s.objective.name}: burn rate"),
            tooltip=["t:T", "bad", "total", "burn"])
        rules = alt.Chart(thresholds).mark_rule(strokeDash=[4, 4], color="grey").encode(y="burn:Q", tooltip=["alert"])
        column.altair_chart((line + rules).properties(height=180), width="stretch")
