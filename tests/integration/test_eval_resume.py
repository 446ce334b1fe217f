"""Kill -9 in the middle of a real run on the default model, then `--resume`: one row per example and
epoch, and the same aggregates as a run that was never interrupted (greedy decoding)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from evals.store.store import Store
from tests.eval_files import ALL_SCORERS, write_suite

pytestmark = pytest.mark.model
SMOKE = Path(__file__).resolve().parents[2] / "datasets" / "smoke" / "smoke.jsonl"
GOLDGATE = [sys.executable, "-m", "evals.cli"]


def goldgate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GOLDGATE, *args], capture_output=True, text=True, timeout=600)


def rows(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT example_id, epoch, output FROM results ORDER BY ALL").fetchall()


def aggregates(db: Path) -> list[tuple]:
    (run,) = Store(db).list_runs()
    summary = Store(db).run_record(run["run_id"])["summary"].model_dump()
    return [(m["metric"], m["split"], m["slice_key"], m["slice_value"], m["n"], m["estimate"], m["low"], m["high"])
            for m in summary["metrics"] if m["metric"] != "latency_s"]


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path: Path, default_model_path: Path) -> None:
    # one cache row at a time, so each answer is computed exactly as in the uninterrupted run
    suite = write_suite(tmp_path / "suite.yaml", SMOKE, None, name="smoke", engine={"device": "cpu"},
                        sampling={"temperature": 0, "max_tokens": 24}, scorers=ALL_SCORERS, concurrency=1,
                        slices=["intent", "difficulty", "length"])
    whole, cut = tmp_path / "whole.duckdb", tmp_path / "cut.duckdb"
    done = goldgate("run", str(suite), "--db", str(whole))
    assert done.returncode == 0, done.stderr

    proc = subprocess.Popen([*GOLDGATE, "run", str(suite), "--db", str(cut)], stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        m = re.match(r"goldgate: (\d+)/10 done", line)
        if m and int(m.group(1)) >= 4:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    (run,) = Store(cut).list_runs()
    assert run["status"] == "running"
    assert 4 <= len(rows(cut)) < 10

    resumed = goldgate("run", "--resume", run["run_id"], "--db", str(cut))
    assert resumed.returncode == 0, resumed.stderr
    assert [r[:2] for r in rows(cut)] == [(f"smoke-{i:04d}", 0) for i in range(1, 11)]
    assert rows(cut) == rows(whole)
    assert aggregates(cut) == aggregates(whole)
    assert Store(cut).run_record(run["run_id"])["status"] == "completed"
