"""A calibration holds for one judge prompt on one judge model, for a time: a run made after the prompt
was edited has an expired judge, the gate stops counting it and says why, and compare will not pair its
scores with the old prompt's; a calibration older than the policy allows expires too."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml

from evals.store.store import Store
from tests.cli_helpers import run_cli
from tests.eval_files import examples, write_jsonl, write_suite
from tests.openai_stub import OpenAIStub
from tests.unit.test_suite_judges import JUDGE, grader


def _calibrated_run(capsys, tmp_path: Path, server: OpenAIStub, judge_prompt: Path, golden: Path, db: Path,
                    tiny_gguf: Path, name: str) -> str:
    judge = {"prompt": str(judge_prompt), "endpoint": {"url": server.url, "model": "grader"}}
    suite = write_suite(tmp_path / f"{name}.yaml", golden, tiny_gguf, judges=[judge])
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db), "--tag", name)
    assert code == 0, err
    return Store(db).list_runs()[-1]["run_id"]


def _gate(capsys, db: Path, baseline: str, candidate: str, policy: Path, out: Path) -> tuple[str, dict]:
    code, printed, err = run_cli(capsys, "gate", "--baseline", baseline, "--candidate", candidate, "--policy", str(policy),
                           "--db", str(db), "--json", str(out))
    assert code in (0, 1), err
    return printed, json.loads(out.read_text())


def test_an_edited_prompt_expires_the_calibration_and_an_old_one_expires_with_age(capsys, tmp_path, tiny_gguf) -> None:
    golden = write_jsonl(tmp_path / "golden.jsonl", examples(8))
    db, policy = tmp_path / "gg.duckdb", tmp_path / "gate.yaml"
    policy.write_text(yaml.safe_dump({"max_drop": 0.5, "min_judge_kappa": 0.5}))
    answers = write_jsonl(tmp_path / "answers.jsonl", [{"example_id": f"ex-{i}", "answer": a}
                                                       for i, a in enumerate(["right", "wrong", "Paris", "nope!"])])
    labels = write_jsonl(tmp_path / "labels.jsonl", [
        {"example_id": f"ex-{i}", "rater": "ann", "dimension": "correct", "label": int(i % 2 == 0)} for i in range(4)])
    with OpenAIStub(grader) as server:
        assert run_cli(capsys, "calibrate", "--judge", str(JUDGE), "--dataset", str(golden), "--answers", str(answers),
                       "--labels", str(labels), "--endpoint", server.url, "--model", "grader", "--db", str(db))[0] == 0
        first = _calibrated_run(capsys, tmp_path, server, JUDGE, golden, db, tiny_gguf, "first")
        second = _calibrated_run(capsys, tmp_path, server, JUDGE, golden, db, tiny_gguf, "second")
        edited = tmp_path / "correctness-v1.yaml"  # the same name and version, one word changed
        edited.write_text(JUDGE.read_text().replace("Grade the candidate answer.", "Grade the candidate answer now."))
        third = _calibrated_run(capsys, tmp_path, server, edited, golden, db, tiny_gguf, "third")

    record = Store(db).run_record(third)["judges"][0]["calibration"]
    assert record["calibration_id"] is None and "the judge prompt changed" in record["expired"]
    _, fresh = _gate(capsys, db, first, second, policy, tmp_path / "fresh.json")
    assert not [c for c in fresh["checks"] if c["name"].startswith("judge ")]  # calibrated: it gates
    assert any(c["name"].startswith("correctness-v1@grader/correct") for c in fresh["checks"])

    printed, after_edit = _gate(capsys, db, second, third, policy, tmp_path / "edited.json")
    assert "### Judges left out" in printed and "calibration expired: the judge prompt changed" in printed
    about_judge = {c["detail"] for c in after_edit["checks"] if c["name"] == "judge correctness-v1@grader"}
    assert any("not gating: calibration expired: the judge prompt changed" in d for d in about_judge)
    assert any("not compared: its prompt differs" in d for d in about_judge)
    assert not any(d["metric"].startswith("correctness-v1@grader/") for d in after_edit["diffs"])
    assert "correctness-v1@grader" in after_edit["unpaired_judges"]

    with duckdb.connect(str(db)) as con:  # the calibration is now 100 days old
        con.execute("UPDATE calibrations SET created_at = created_at - INTERVAL 100 DAY")
    _, aged = _gate(capsys, db, first, second, policy, tmp_path / "aged.json")
    (detail,) = [c["detail"] for c in aged["checks"] if c["name"] == "judge correctness-v1@grader"]
    assert "calibration expired" in detail and "100 days old, over the policy's 90" in detail
    assert not any(c["name"].startswith("correctness-v1@grader/") for c in aged["checks"])
