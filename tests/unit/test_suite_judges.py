"""Judges in a suite: every answer judged and reported on [0, 1], resumably, and allowed to gate only
after a stored calibration of that judge reached the suite's threshold."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from evals.store import queries
from evals.store.store import Store
from tests.cli_helpers import run_cli
from tests.eval_files import examples, write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply

JUDGE = Path(__file__).resolve().parents[2] / "datasets" / "judges" / "correctness-v1.yaml"


def grader(body: dict, call: int) -> Reply:
    prompt = body["messages"][1]["content"]
    candidate = re.search(r"Candidate answer: (.*)\n\nGrade", prompt, re.DOTALL).group(1)
    ok = int(candidate in ("right", "Paris") or len(candidate) % 2 == 0)
    return Reply([f'{{"rationale": "ok", "scores": {{"correct": {ok}, "on_topic": 1}}, "overall": {ok}}}'])


def test_a_suite_judge_scores_every_answer_and_gates_only_once_calibrated(
        capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", examples(8))
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(grader) as server:
        judge = {"prompt": str(JUDGE), "endpoint": {"url": server.url, "model": "grader"}}
        suite = write_suite(tmp_path / "suite.yaml", golden, tiny_gguf, judges=[judge], epochs=2)
        code, out, err = run_cli(capsys, "run", str(suite), "--db", str(db))
        assert code == 0, err
        assert "never calibrated" in out and "may not gate" in out
        run_id = Store(db).list_runs()[0]["run_id"]
        with duckdb.connect(str(db), read_only=True) as con:
            judged = con.execute("SELECT count(DISTINCT (example_id, epoch)), count(*) FROM judgments "
                                 "WHERE run_id = ?", [run_id]).fetchone()
            outputs = con.execute("SELECT example_id, epoch, output FROM results WHERE run_id = ?", [run_id]).fetchall()
        assert judged == (16, 16 * 3)  # every answer, on correct, on_topic and overall
        summary = Store(db).run_record(run_id)["summary"].model_dump()
        metric = next(m for m in summary["metrics"] if m["metric"] == "correctness-v1@grader/correct"
                      and m["slice_key"] == "all" and m["split"] == "public")
        assert 0 <= metric["estimate"] <= 1 and summary["judges"][0]["calibration"]["may_gate"] is False

        # a calibration that agrees with the raters: the next run's judge may gate
        answers = write_jsonl(tmp_path / "answers.jsonl", [{"example_id": f"ex-{i}", "answer": a}
                                                           for i, a in enumerate(["right", "wrong", "Paris", "nope!"])])
        labels = write_jsonl(tmp_path / "labels.jsonl", [
            {"example_id": f"ex-{i}", "rater": "ann", "dimension": "correct", "label": int(i % 2 == 0)}
            for i in range(4)])
        assert run_cli(capsys, "calibrate", "--judge", str(JUDGE), "--dataset", str(golden), "--answers",
                       str(answers), "--labels", str(labels), "--endpoint", server.url, "--model", "grader",
                       "--db", str(db))[0] == 0
        before = len(server.bodies)
        code, out, _ = run_cli(capsys, "run", str(suite), "--db", str(db))
        assert code == 0 and "may gate" in out and "may not gate" not in out
        assert len(server.bodies) == before  # the same answers: judged from the cache
    second = Store(db).list_runs()[-1]["run_id"]
    assert Store(db).run_record(second)["judges"][0]["calibration"]["kappa"] == {"correct": 1.0}
    assert len(outputs) == 16


def test_two_judges_make_an_ensemble_scored_by_the_median(capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", examples(6))
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(grader) as one, OpenAIStub(lambda body, call: Reply(
            ['{"rationale": "no", "scores": {"correct": 0, "on_topic": 0}, "overall": 0}'])) as never:
        judges = [{"prompt": str(JUDGE), "endpoint": {"url": s.url, "model": name}} for s, name in
                  ((one, "grader"), (never, "naysayer"))]
        suite = write_suite(tmp_path / "suite.yaml", golden, tiny_gguf, judges=judges)
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db))
    assert code == 0, err
    summary = Store(db).run_record(Store(db).list_runs()[0]["run_id"])["summary"].model_dump()
    overall = {m["metric"]: m for m in summary["metrics"] if m["slice_key"] == "all" and m["split"] == "public"}
    graded = overall["correctness-v1@grader/overall"]["estimate"]
    assert overall["ensemble/overall"]["estimate"] == pytest.approx(graded / 2)  # the median of {x, 0} is x / 2
    assert overall["ensemble/disagreement"]["estimate"] == pytest.approx(graded)
    with Store(db).read() as con:  # the Label page queues the answers the two judges part on
        queue = queries.answers_to_label(con, Store(db).list_runs()[0]["run_id"])
        graded_one = {e for (e,) in con.execute("SELECT example_id FROM judgments WHERE epoch = 0 AND dimension = "
                                                "'overall' AND score = 1").fetchall()}
    on_overall = {e for e, q in zip(queue["example_id"], queue["queued"]) if "judges disagree on overall" in (q or "")}
    assert on_overall == graded_one and graded_one  # the naysayer's 0 against the grader's 1
    assert queue["queued"].str.contains("judges disagree on on_topic").all()  # 1 from one, 0 from the other, always
