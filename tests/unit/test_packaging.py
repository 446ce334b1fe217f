"""What the wheel carries: every package in the tree, the judge prompts and the dashboard's pages."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

from evals.judges.spec import load_judge_prompt
from evals.resources import dashboard_app, data_dir, judge_prompt, judge_prompts

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_lists_every_package_in_the_tree() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {p for p in find_namespace_packages(str(ROOT), include=["engine*", "evals*", "telemetry*", "dashboard"])
             if (ROOT / p.replace(".", "/") / "__init__.py").exists()}
    assert found == listed - {"goldgate_datasets"}


def test_resources_find_the_shipped_judge_prompts_and_the_dashboard() -> None:
    assert data_dir() == ROOT / "datasets"  # a checkout; tests/integration/test_wheel.py checks a wheel
    names = [p.name for p in judge_prompts()]
    assert names == sorted(p.name for p in (ROOT / "datasets" / "judges").glob("*.yaml")) and names
    assert load_judge_prompt(judge_prompt("pairwise-v1.yaml")).spec.mode == "pairwise"
    assert dashboard_app() == ROOT / "dashboard" / "app.py"
