"""Runs against an OpenAI-compatible endpoint over real loopback HTTP, driven by the official `openai` SDK.

The server here is a scripted stand-in (the engine's own server arrives with the serving issue):
it fails some requests once with 503 and stalls others, to show retries, per-example deadlines
and that failed examples are stored as errors and finished by `--resume`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from evals.store.store import Store
from tests.cli_helpers import run_cli
from tests.eval_files import write_jsonl, write_suite


class Script:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.stall = True  # "slow" questions stall past the deadline until this is cleared


class Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = body["messages"][-1]["content"]
        self.script.calls[question] += 1
        if "flaky" in question and self.script.calls[question] == 1:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "overloaded"}}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for chunk in self.chunks(body, question):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def chunks(self, body: dict, question: str) -> Iterator[dict]:
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
        words = ["The", " answer", " is", " Paris."]
        for i, word in enumerate(words):
            if "slow" in question and self.script.stall and i == 1:
                time.sleep(1.5)
            yield {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        yield {**base, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": len(words), "total_tokens": 11}}


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Script]]:
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (Handler,), {"script": script}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    server.shutdown()


def test_retries_deadlines_errors_and_resume(capsys, endpoint, tmp_path: Path) -> None:
    url, script = endpoint
    questions = ["plain one", "flaky one", "slow one", "plain two"]
    golden = write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i}", "input": q, "expected": {"answer": "Paris"}} for i, q in enumerate(questions)])
    suite = write_suite(tmp_path / "suite.yaml", golden, None, timeout_s=0.8, concurrency=2,
                        endpoint={"url": url, "model": "remote-model", "max_retries": 2}, engine=None)
    db = tmp_path / "gg.duckdb"

    assert run_cli(capsys, "run", str(suite), "--db", str(db))[0] == 0
    run_id = Store(db).list_runs()[0]["run_id"]
    record = Store(db).run_record(run_id)
    assert (record["model_id"], record["endpoint"], record["model_digest"]) == ("remote-model", url, None)
    assert script.calls["flaky one"] == 2  # a 503, then the SDK's retry
    with duckdb.connect(str(db), read_only=True) as con:
        rows = dict(con.execute("SELECT example_id, coalesce(error, output) FROM results").fetchall())
    assert rows["q0"] == rows["q1"] == rows["q3"] == "The answer is Paris."
    assert "TimeoutError" in rows["q2"] or "Timeout" in rows["q2"]
    assert record["summary"]["counts"]["errors"] == 1

    script.stall = False
    assert run_cli(capsys, "run", "--resume", run_id, "--db", str(db))[0] == 0
    with duckdb.connect(str(db), read_only=True) as con:
        after = con.execute("SELECT example_id, output, error FROM results ORDER BY example_id").fetchall()
    assert [r[0] for r in after] == ["q0", "q1", "q2", "q3"]
    assert all(r[1] == "The answer is Paris." and r[2] is None for r in after)
    assert script.calls["plain one"] == 1  # finished examples are not asked again
