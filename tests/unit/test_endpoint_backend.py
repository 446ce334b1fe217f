"""Runs against an OpenAI-compatible endpoint over real loopback HTTP.

The server is a scripted stand-in (the engine's own server arrives with the serving issue): it
fails some requests once with 503 and stalls others, to show retries, per-example deadlines and
that failed examples are stored as errors and finished by `--resume`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from evals.store.store import Store
from tests.cli_helpers import run_cli
from tests.eval_files import write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply

ANSWER = ["The", " answer", " is", " Paris."]


def test_retries_deadlines_errors_and_resume(capsys, tmp_path: Path) -> None:
    stall = {"on": True}

    def reply(body: dict, call: int) -> Reply:
        question = body["messages"][-1]["content"]
        if "flaky" in question and call == 1:
            return Reply(status=503)
        return Reply(ANSWER, pause_after_first_s=1.5 if "slow" in question and stall["on"] else 0.0)

    questions = ["plain one", "flaky one", "slow one", "plain two"]
    golden = write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i}", "input": q, "expected": {"answer": "Paris"}} for i, q in enumerate(questions)])
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(reply) as server:
        suite = write_suite(tmp_path / "suite.yaml", golden, None, timeout_s=0.8, concurrency=2, engine=None, slices=None,
                            endpoint={"url": server.url, "model": "remote-model", "max_retries": 2})
        assert run_cli(capsys, "run", str(suite), "--db", str(db))[0] == 0
        run_id = Store(db).list_runs()[0]["run_id"]
        record = Store(db).run_record(run_id)
        assert (record["model_id"], record["endpoint"], record["model_digest"]) == ("remote-model", server.url, None)
        calls = {b["messages"][-1]["content"] for b in server.bodies}
        assert calls == set(questions)
        assert sum(b["messages"][-1]["content"] == "flaky one" for b in server.bodies) == 2  # a 503, then the retry
        with duckdb.connect(str(db), read_only=True) as con:
            rows = dict(con.execute("SELECT example_id, coalesce(error, output) FROM results").fetchall())
        assert rows["q0"] == rows["q1"] == rows["q3"] == "The answer is Paris."
        assert "Timeout" in rows["q2"]
        assert record["summary"].counts.errors == 1

        stall["on"] = False
        before = len(server.bodies)
        assert run_cli(capsys, "run", "--resume", run_id, "--db", str(db))[0] == 0
        assert [b["messages"][-1]["content"] for b in server.bodies[before:]] == ["slow one"]  # only the failed one
    with duckdb.connect(str(db), read_only=True) as con:
        after = con.execute("SELECT example_id, output, error FROM results ORDER BY example_id").fetchall()
    assert after == [(f"q{i}", "The answer is Paris.", None) for i in range(4)]


def test_a_run_whose_every_request_failed_is_stored_and_then_refused_with_exit_2(capsys, tmp_path: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i}", "input": f"question {i}", "expected": {"answer": "Paris"}} for i in range(3)])
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(lambda body, call: Reply(status=401)) as server:  # a wrong API key, on every request
        suite = write_suite(tmp_path / "suite.yaml", golden, None, engine=None, slices=None,
                            endpoint={"url": server.url, "model": "remote-model", "max_retries": 0})
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db))
    assert code == 2 and "3 of 3 generations failed" in err and "HTTP 401 Unauthorized" in err
    (run,) = Store(db).list_runs()
    assert run["status"] == "completed"  # what happened is kept, to read; the exit code refuses it


def test_a_share_of_failures_over_the_suites_limit_is_refused(capsys, tmp_path: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i}", "input": f"question {i}", "expected": {"answer": "Paris"}} for i in range(4)])

    def reply(body: dict, call: int) -> Reply:
        return Reply(status=400) if body["messages"][-1]["content"].endswith("0") else Reply(ANSWER)

    with OpenAIStub(reply) as server:
        for limit, expected in ((0.5, 0), (0.2, 2)):  # one of four failed: 0.25
            suite = write_suite(tmp_path / f"suite-{limit}.yaml", golden, None, engine=None, max_error_rate=limit,
                                slices=None,
                                endpoint={"url": server.url, "model": "remote-model", "max_retries": 0})
            code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / f"{limit}.duckdb"))
            assert code == expected, err


def test_answers_from_a_server_that_reports_no_usage_are_stored_but_not_cached(capsys, tmp_path: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i}", "input": f"question {i}", "expected": {"answer": "Paris"}} for i in range(3)])
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(lambda body, call: Reply(ANSWER, usage=False)) as server:
        suite = write_suite(tmp_path / "suite.yaml", golden, None, engine=None, slices=None,
                            endpoint={"url": server.url, "model": "remote-model"})
        for _ in range(2):
            assert run_cli(capsys, "run", str(suite), "--db", str(db))[0] == 0
    assert len(server.bodies) == 6  # asked again: nothing was cached without its token counts
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(prompt_tokens), count(*) FILTER (output = 'The answer is Paris.') "
                           "FROM results").fetchone() == (6, 0, 6)
        assert con.execute("SELECT count(*) FROM generations").fetchone() == (0,)
