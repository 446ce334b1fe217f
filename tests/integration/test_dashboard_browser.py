"""The dashboard end to end in a real browser: `goldgate dashboard` on loopback over a store the CLI made,
Debian's headless Chromium driven by Playwright (no browser download), every page opened, no exception
on any, and a screenshot of each kept under artifacts/dashboard/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.collectors import free_port, running
from tests.dashboard_store import SLOS, make_store

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard"
PAGES = {"": "Overview", "run": "Run", "compare": "Compare", "engine": "Engine", "drift": "Drift", "traces": "Traces",
         "judges": "Judges", "label": "Label"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, tiny_gguf):
    folder = tmp_path_factory.mktemp("browser")
    db, _, runs = make_store(folder, tiny_gguf)
    port = free_port()
    goldgate = Path(sys.executable).parent / "goldgate"
    with running([str(goldgate), "dashboard", "--db", str(db), "--port", str(port), "--slo", str(folder / "slo.yaml")],
                 folder / "dashboard.log",
                 f"http://127.0.0.1:{port}/_stcore/health", timeout=60):
        yield f"http://127.0.0.1:{port}", runs


def test_every_page_renders_in_chromium_without_an_exception(dashboard, tmp_path) -> None:
    url, runs = dashboard
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(tmp_path / "profile", executable_path=CHROMIUM, args=FLAGS,
                                                       viewport={"width": 1400, "height": 2600})  # a fresh profile; tall: Streamlit scrolls inside the page
        page = browser.new_page()
        for path, title in PAGES.items():
            query = f"?a={runs['baseline']}&b={runs['candidate']}" if path == "compare" else ""
            page.goto(f"{url}/{path}{query}")
            page.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)
            page.wait_for_load_state("networkidle")
            page.wait_for_function(  # the script has finished and every chart has drawn
                "!document.querySelector('[data-testid=\"stStatusWidget\"], [data-testid=\"stSkeleton\"]')"
                " && [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
                ".every(c => c.querySelector('canvas, svg'))", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / f"{path or 'overview'}.png"), full_page=True)
            assert page.locator("[data-testid='stException']").count() == 0, f"{path}: an exception is shown"
            text = page.inner_text("body")
            assert "Traceback" not in text and "Page not found" not in text, f"{path}: {text[:500]}"
            if path == "":  # the first tier: a light and a budget per SLO, and the cost per day
                for slo in SLOS["slos"]:
                    assert slo["name"] in text
                assert text.count("budget left") == len(SLOS["slos"]) and "Cost per day" in text
            if path == "compare":
                assert "Gate passed" in text or "Gate failed" in text
        browser.close()
    assert sorted(p.stem for p in ARTIFACTS.glob("*.png")) == sorted(path or "overview" for path in PAGES)
