"""Dashboard load times at two scales: every page's cold load (caches cleared, the page script run by
Streamlit's AppTest as the server runs it) on a 1k-result store and on a 100k-result, 1M-span store,
both made by bench/make_store.py, in one run. The worst ratio large / small is printed last.
Target: no page more than 3x slower at 100x the data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_store import generate  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
PAGES = ("overview", "run", "compare", "engine", "traces", "judges", "label")


def load_seconds(db: Path, page: str, rounds: int) -> float:
    os.environ["GOLDGATE_DB"] = str(db)
    times = []
    for _ in range(rounds):
        st.cache_data.clear()
        at = AppTest.from_file(APP, default_timeout=600)
        if page == "traces":
            at.query_params["trace"] = f"{0:032x}"  # the first run's trace
        if page != "overview":
            at.switch_page(f"views/{page}.py")
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        assert not at.exception, (page, [e.value for e in at.exception])
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.duckdb", Path(tmp) / "large.duckdb"
        start = time.perf_counter()
        generate(small, runs=2, examples=500, spans=10_000)
        generate(large, runs=200, examples=500, spans=1_000_000)
        print(f"stores made in {time.perf_counter() - start:.0f} s: 1,000 results / 10,000 spans and "
              f"100,000 results / 1,000,000 spans ({large.stat().st_size / 2**20:.0f} MiB)")
        ratios = {}
        print(f"{'page':>10} {'1k store':>10} {'100k store':>11} {'ratio':>6}")
        for page in PAGES:
            a, b = load_seconds(small, page, args.rounds), load_seconds(large, page, args.rounds)
            ratios[page] = b / a
            print(f"{page:>10} {a:9.3f}s {b:10.3f}s {b / a:6.2f}")
    worst = max(ratios, key=ratios.get)
    print(f"worst ratio large/small: {ratios[worst]:.2f} ({worst})")


if __name__ == "__main__":
    main()
