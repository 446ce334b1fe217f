"""The record every run carries (../shared/DESIGN.md, "Contracts"): what was run, on what, by which code."""

from __future__ import annotations

import json
import secrets
import subprocess
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from evals.golden.dataset import GoldenSet
from evals.golden.subset import Subset
from evals.run.suite import Suite
from evals.store.store import now
from telemetry.prices import PriceTable


def new_run_id(suite_name: str) -> str:
    return f"{suite_name}-{now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def git_state() -> tuple[str | None, bool | None]:
    """The commit of the working directory's repository and whether it has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return commit, bool(dirty.strip())


def goldgate_version() -> str:
    try:
        return version("goldgate")
    except PackageNotFoundError:
        return "unknown"


def run_record(run_id: str, suite: Suite, golden: GoldenSet, n_examples: int, subset: Subset, *, tag: str | None,
               model_id: str, model_digest: str | None, endpoint: str | None,
               judges: list[dict[str, Any]] | None = None, prices: PriceTable | None = None) -> dict[str, Any]:
    commit, dirty = git_state()
    return {
        "run_id": run_id, "suite_name": suite.name, "tag": tag, "status": "running",
        "dataset_name": golden.name, "dataset_path": str(golden.path), "dataset_sha256": golden.sha256,
        "n_examples": n_examples, "epochs": suite.epochs,
        "model_id": model_id, "model_digest": model_digest, "endpoint": endpoint,
        "prompt_sha256": suite.prompt.sha256, "judges": json.dumps(judges or []),
        "git_commit": commit, "git_dirty": dirty,
        "settings": json.dumps({"suite": suite.model_dump(mode="json"), **subset.settings(),
                                "prices": prices.model_dump(mode="json") if prices is not None else None}),
        "goldgate_version": goldgate_version(), "started_at": now(), "finished_at": None, "summary": None,
    }
