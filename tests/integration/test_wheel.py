"""goldgate as a user installs it: a wheel from `pip wheel --no-deps .` in a fresh virtual environment,
used outside the checkout. Its judge prompts and dashboard pages must come from the wheel itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.collectors import free_port, running
from tests.integration.test_dashboard_browser import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel; the dependencies are the test environment's, put on its path (a .pth
    line adds the folder but runs none of its .pth files, so the checkout's editable install stays out)."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(folder / "dist"), str(ROOT)],
                   check=True, cwd=folder)
    (wheel,) = (folder / "dist").glob("goldgate-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "goldgate-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)],
                   check=True)
    return venv / "bin"


def goldgate(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "goldgate"), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_wheel_calibrates_runs_and_shows_the_dashboard_outside_the_checkout(installed: Path,
                                                                                 tmp_path: Path) -> None:
    where = subprocess.run([str(installed / "python"), "-c", "import evals, goldgate_datasets, dashboard; "
                            "print(evals.__file__); print(dashboard.__file__)"],
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert all(str(installed.parent) in path for path in where), where  # the wheel's copy, not the checkout's

    assert goldgate(installed, "calibrate", "--help", cwd=tmp_path).returncode == 0
    shutil.copytree(ROOT / "datasets" / "smoke", tmp_path / "smoke")
    db = tmp_path / "gg.duckdb"
    done = goldgate(installed, "run", "smoke/suite.yaml", "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "public: all examples" in done.stdout

    port = free_port()
    with running([str(installed / "goldgate"), "dashboard", "--db", str(db), "--port", str(port)],
                 tmp_path / "dashboard.log", f"http://127.0.0.1:{port}/_stcore/health", timeout=60, cwd=tmp_path):
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(tmp_path / "profile", executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/label")
            page.get_by_role("heading", name="Label", exact=True).wait_for(timeout=30_000)
            rubric = page.locator("[data-testid='stSelectbox']").filter(has_text="Rubric (a pointwise judge prompt)")
            rubric.click()  # open the list of shipped judge prompts
            page.get_by_role("option").first.wait_for(timeout=30_000)
            options = page.get_by_role("option").all_inner_texts()
            text = page.inner_text("body")
            browser.close()
    shipped = sorted(p.name for p in (ROOT / "datasets" / "judges").glob("*.yaml") if "pairwise" not in p.name)
    assert options == shipped and "Traceback" not in text, (options, text[:500])
