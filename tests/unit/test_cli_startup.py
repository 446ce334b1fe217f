"""Commands that run no model never import torch (each would pay seconds of imports before doing anything)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.collectors import free_port

ROOT = Path(__file__).resolve().parents[2]
GOLDGATE = Path(sys.executable).with_name("goldgate")  # the installed command, as a user starts it


def imported(*args: str, cwd: Path) -> tuple[int, set[str]]:
    """The exit code of `goldgate ARGS` and every module it imported (from `python -X importtime`)."""
    done = subprocess.run([str(GOLDGATE), *args], cwd=cwd, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
                          capture_output=True, text=True, timeout=120)
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done.returncode, modules


@pytest.mark.parametrize("args", [
    ("gate", "--help"),
    ("run", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--help"),
    ("run", str(ROOT / "datasets" / "smoke" / "suite.yaml"), "--endpoint", "http://127.0.0.1:{port}/v1", "--model", "m",
     "--limit", "1", "--db", "gg.duckdb"),  # a whole run against an endpoint that is not there
    ("compare", "--help"),
    ("runs", "list"),  # on a store that is not there: exit 2, after the imports the command needs
    ("datasets", "validate", str(ROOT / "datasets" / "smoke" / "smoke.jsonl")),
    ("dashboard", "--port", "0"),  # refused before the app starts
])
def test_a_command_that_runs_no_model_imports_no_torch(tmp_path: Path, args: tuple[str, ...]) -> None:
    code, modules = imported(*(a.format(port=free_port()) for a in args), cwd=tmp_path)
    assert code in (0, 2) and "evals.cli" in modules
    assert not {m for m in modules if m == "torch" or m.startswith("torch.")}


def test_generate_does_import_torch(tmp_path: Path) -> None:  # the check above can see torch when it is there
    code, modules = imported("generate", "hi", "--model", "missing.gguf", cwd=tmp_path)
    assert code == 2 and "torch" in modules
