"""goldgate's dashboard: `goldgate dashboard [--db PATH]`. Three tiers: are we okay (Overview), what is
moving (Run, Compare, Engine), and the debug surface (Traces, Judges, Label)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="goldgate", layout="wide")
page = st.navigation({
    "Are we okay": [st.Page(VIEWS / "overview.py", title="Overview", url_path="overview", default=True)],
    "What is moving": [st.Page(VIEWS / "run.py", title="Run", url_path="run"),
                       st.Page(VIEWS / "compare.py", title="Compare", url_path="compare"),
                       st.Page(VIEWS / "engine.py", title="Engine", url_path="engine"),
                       st.Page(VIEWS / "drift.py", title="Drift", url_path="drift")],
    "Debug": [st.Page(VIEWS / "traces.py", title="Traces", url_path="traces"),
              st.Page(VIEWS / "judges.py", title="Judges", url_path="judges"),
              st.Page(VIEWS / "label.py", title="Label", url_path="label")],
})
page.run()
