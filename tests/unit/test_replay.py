"""`goldgate replay` of planted production traces against a scripted endpoint on loopback: both answers
side by side with their facts and a judge's scores, the read audited; refused when nothing was captured."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from evals.cli import main
from evals.store.retention import audit_log
from evals.store.spans import write_spans
from evals.store.store import Store, now
from telemetry.messages import content_attributes
from telemetry.redact import Redactor
from telemetry.sinks import SpanRecord
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.openai_stub import OpenAIStub, Reply

JUDGE = Path(__file__).resolve().parents[2] / "datasets" / "judges" / "correctness-v1.yaml"
CAPTURED, BARE = f"{1:032x}", f"{2:032x}"


def _plant(db: Path) -> None:
    end = now() - timedelta(minutes=5)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    attrs = content_attributes(messages, None, "I'm sorry, but I cannot help with that.", "stop", Redactor())
    row = lambda trace, a: SpanRecord(trace, trace[-16:], None, "chat old-model", "INTERNAL", end, end, "UNSET",  # noqa: E731
                                      json.dumps(a), "[]", None, None, "old-model", 0.8, 0.1, None, 12, 9, None, "stop",
                                      None, None, None, None, None, None)
    write_spans(Store(db), [row(CAPTURED, attrs), row(BARE, {})])


def new_model(body: dict, call: int) -> Reply:
    assert [m["role"] for m in body["messages"]] == ["system", "user"]  # the request as it was sent
    return Reply(["Paris."])


def grader(body: dict, call: int) -> Reply:
    """Scores an answer naming Paris 1, anything else 0."""
    answer = body["messages"][1]["content"]
    good = "Candidate answer: Paris." in answer
    scores = f'"scores": {{"correct": {int(good)}, "on_topic": 1}}, "overall": {int(good)}'
    return Reply([f'{{"rationale": "ok", {scores}}}'])


def test_replay_shows_both_answers_with_their_scores(capsys, tmp_path: Path) -> None:
    db = tmp_path / "prod.duckdb"
    _plant(db)
    with OpenAIStub(new_model) as model, OpenAIStub(grader) as judge:
        code = main(["replay", CAPTURED, "--db", str(db), "--endpoint", model.url, "--model", "stub",
                     "--judge", str(JUDGE), "--judge-endpoint", judge.url, "--judge-model", "stub", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    old, new = out["answers"]
    assert out["input"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    assert (old["text"], old["refused"], old["output_tokens"], old["judge_score"]) == (
        "I'm sorry, but I cannot help with that.", True, 9, 0)
    assert (new["text"], new["refused"], new["judge_score"]) == ("Paris.", False, 1)
    assert [r[1:] for r in audit_log(Store(db))] == [("goldgate replay", "read_content", CAPTURED, 1)]
    with OpenAIStub(new_model) as model:
        assert main(["replay", CAPTURED, "--db", str(db), "--endpoint", model.url, "--model", "stub"]) == 0
    table = capsys.readouterr().out
    assert "Paris." in table and "REFUSED" in table and "Capital of France?" in table


def test_replay_is_refused_without_captured_content_or_a_trace(capsys, tmp_path: Path) -> None:
    db = tmp_path / "prod.duckdb"
    _plant(db)
    code, _, err = run_cli(capsys, "replay", BARE, "--db", str(db), "--endpoint", "http://127.0.0.1:9/v1", "--model", "m")
    assert_one_line_error(code, err, BARE, "not captured")
    code, _, err = run_cli(capsys, "replay", "f" * 32, "--db", str(db), "--model", "m")
    assert_one_line_error(code, err, "no generation in trace")
    assert audit_log(Store(db)) == []
