"""Replicas of one model over real loopback HTTP: least-in-flight routing, failover when a replica is down
from the start or killed (SIGKILL) mid-answer, the circuit breaker and its health check, and a run that
stops, naming every replica, only when all of them are down."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.collectors import free_port
from tests.eval_files import write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply

N = 60


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i}", "input": f"question {i}", "expected": {"answer": "yes"}} for i in range(N)])


def suite_on(tmp_path: Path, golden: Path, urls: list[str], **endpoint) -> Path:
    return write_suite(tmp_path / "suite.yaml", golden, None, engine=None, slices=None, scorers=["exact_match"],
                       concurrency=6, endpoint={"url": urls, "model": "m", **endpoint})


def stored(db: Path) -> list[tuple[str, str | None, str | None]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT example_id, output, error FROM results ORDER BY example_id").fetchall()


@pytest.fixture
def doomed_replica():
    """A replica in its own process that is killed on its 10th request, mid-answer."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.openai_stub", "10"], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        yield proc.stdout.readline().strip(), proc
    finally:
        proc.kill()
        proc.wait()


def test_one_replica_down_and_one_killed_halfway_every_example_is_answered_once(
        capsys, tmp_path: Path, golden: Path, doomed_replica: tuple[str, subprocess.Popen]) -> None:
    (doomed, process), down = doomed_replica, f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with OpenAIStub(lambda body, call: Reply(["ye", "s"], pause_after_first_s=0.1)) as healthy:
        suite = suite_on(tmp_path, golden, [down, doomed, healthy.url])
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "gg.duckdb"))
    assert code == 0, err
    assert stored(tmp_path / "gg.duckdb") == sorted((f"q{i}", "yes", None) for i in range(N))
    asked_healthy = Counter(b["messages"][-1]["content"] for b in healthy.bodies)
    assert max(asked_healthy.values()) == 1 and len(asked_healthy) < N  # the doomed one answered some first
    assert process.poll() == -signal.SIGKILL, len(asked_healthy)
    for url in (down, doomed):
        assert f"replica {url} out of rotation" in err and f"replica {url} (answered" in err, err
    assert f"replica {healthy.url} out of rotation" not in err


def test_a_replica_that_fails_for_a_while_leaves_the_rotation_and_returns_when_healthy(
        capsys, tmp_path: Path, golden: Path) -> None:
    failing = {"left": 5}

    def reply(body: dict, call: int) -> Reply:
        if failing["left"] > 0:
            failing["left"] -= 1
            return Reply(status=503)
        return Reply(["yes"])

    with OpenAIStub(reply) as only:
        code, _, err = run_cli(capsys, "run", str(suite_on(tmp_path, golden, [only.url])),
                               "--db", str(tmp_path / "gg.duckdb"))
    assert code == 0, err
    assert stored(tmp_path / "gg.duckdb") == sorted((f"q{i}", "yes", None) for i in range(N))
    assert f"replica {only.url} out of rotation after 3 failures in a row (EndpointStatusError: scripted failure (HTTP 503 Service Unavailable)" in err
    assert f"replica {only.url} answers its health check: back in rotation" in err


def test_when_every_replica_is_down_the_run_stops_naming_each_and_resume_finishes_it(
        capsys, tmp_path: Path, golden: Path) -> None:
    db, ports = tmp_path / "gg.duckdb", [free_port() for _ in range(2)]
    urls = [f"http://127.0.0.1:{port}/v1" for port in ports]
    code, _, err = run_cli(capsys, "run", str(suite_on(tmp_path, golden, urls, fail_after_s=0.5)), "--db", str(db))
    assert_one_line_error(code, err.splitlines()[-1], "every replica is down", *urls, "Connection refused")
    (run,) = Store(db).list_runs()
    assert run["status"] == "failed" and stored(db) == []
    with OpenAIStub(lambda body, call: Reply(["yes"]), port=ports[1]):  # one comes back
        code, _, err = run_cli(capsys, "run", "--resume", run["run_id"], "--db", str(db))
    assert code == 0, err
    assert stored(db) == sorted((f"q{i}", "yes", None) for i in range(N))


def test_a_bad_replica_list_is_refused_naming_the_flag(capsys, tmp_path: Path, golden: Path) -> None:
    suite = write_suite(tmp_path / "suite.yaml", golden, None, engine=None, slices=None)
    for urls, says in (("http://a:1/v1,http://a:1/v1", "named twice"), ("http://a:1/v1,ftp://b", "http://")):
        code, _, err = run_cli(capsys, "run", str(suite), "--endpoint", urls, "--model", "m",
                               "--db", str(tmp_path / "gg.duckdb"))
        assert_one_line_error(code, err, "--endpoint", says)
