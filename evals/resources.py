"""Files goldgate ships beside its code: the judge prompts, golden sets and suites under `datasets/`
(installed as the package `goldgate_datasets`) and the dashboard's app. Found through the import system,
so a wheel in a fresh virtual environment finds them as a checkout does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DATA_PACKAGE = "goldgate_datasets"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise FileNotFoundError(f"goldgate is installed without its package {name}; reinstall it")
    # a namespace package's path may also name an editable install's path hook: keep the real folder
    return next(Path(p) for p in spec.submodule_search_locations if Path(p).is_dir())


def data_dir() -> Path:
    """The installed `datasets/` folder."""
    return _package_dir(DATA_PACKAGE)


def judge_prompts() -> list[Path]:
    """Every judge prompt goldgate ships, by file name."""
    return sorted((data_dir() / "judges").glob("*.yaml"))


def judge_prompt(name: str) -> Path:
    return data_dir() / "judges" / name


def dashboard_app() -> Path:
    """The Streamlit app's script (run by path, never imported: nothing imports the dashboard)."""
    return _package_dir("dashboard") / "app.py"
