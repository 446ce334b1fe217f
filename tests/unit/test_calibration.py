"""Calibration: the report's numbers against the reference libraries, the verdict bands, label files,
and `goldgate calibrate` end to end against a scripted judge, stored and recomputed from the rows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from evals.errors import EvalInputError
from evals.judges.calibration import calibrate_dimension, consensus, verdict
from evals.judges.judge import Judgment
from evals.judges.labels import HumanLabel, load_labels
from evals.judges.parse import Verdict
from evals.judges.spec import Scale
from evals.stats.agreement import cohen_kappa
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import write_jsonl
from tests.openai_stub import OpenAIStub, Reply

JUDGE = Path(__file__).resolve().parents[2] / "datasets" / "judges" / "correctness-v1.yaml"


def synthetic(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    raters = {r: np.where(rng.random(n) < 0.8, truth, rng.integers(0, 3, n)) for r in ("ann", "bob", "cy")}
    judge = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 3, n))
    ids = [f"x{i}" for i in range(n)]
    labels = [HumanLabel(example_id=i, rater=r, dimension="quality", label=str(v[k]))
              for r, v in raters.items() for k, i in enumerate(ids) if not (r == "cy" and k % 4 == 0)]  # cy skips some
    judgments = [Judgment(i, Verdict("scored", {"quality": int(judge[k])}) if k % 10 else Verdict("parse_error"), None)
                 for k, i in enumerate(ids)]
    return ids, raters, judge, labels, judgments


def test_report_numbers_equal_the_reference_libraries() -> None:
    ids, raters, judge, labels, judgments = synthetic(1)
    report = calibrate_dimension("quality", Scale(min=0, max=2), judgments, labels, hard_ids=set(ids[:20]))
    by_rater = {r: {lab.example_id: lab.label for lab in labels if lab.rater == r} for r in raters}
    cons = {i: consensus([by_rater[r][i] for r in raters if i in by_rater[r]]) for i in ids}
    rows = [i for k, i in enumerate(ids) if k % 10 and cons[i] is not None]
    j = {i: str(judge[k]) for k, i in enumerate(ids)}
    assert report.n_items == len(rows) and report.parse_errors == 6
    assert report.kappa == pytest.approx(cohen_kappa_score([j[i] for i in rows], [cons[i] for i in rows],
                                                           labels=["0", "1", "2"]), abs=1e-12)
    assert report.weighted_kappa == pytest.approx(cohen_kappa_score(
        [j[i] for i in rows], [cons[i] for i in rows], labels=["0", "1", "2"], weights="quadratic"), abs=1e-12)
    shared = sorted(by_rater["ann"].keys() & by_rater["cy"].keys())
    ann_cy = next(p for p in report.inter_rater if (p["a"], p["b"]) == ("ann", "cy"))
    assert ann_cy["kappa"] == pytest.approx(cohen_kappa_score([by_rater["ann"][i] for i in shared],
                                                              [by_rater["cy"][i] for i in shared]), abs=1e-12)
    judged = {i: j[i] for k, i in enumerate(ids) if k % 10}
    data = np.array([[float(c[i]) if i in c else np.nan for i in ids] for c in [*by_rater.values(), judged]])
    assert report.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))
    hard = [i for i in rows if i in ids[:20]]
    assert report.hard["hard"]["n"] == len(hard)
    assert report.hard["hard"]["kappa"] == pytest.approx(cohen_kappa([j[i] for i in hard], [cons[i] for i in hard],
                                                                     labels=["0", "1", "2"]))
    assert sum(map(sum, report.confusion["matrix"])) == len(rows)
    assert len(report.disagreements) == sum(j[i] != cons[i] for i in rows)
    assert report.kappa_low <= report.kappa <= report.kappa_high


@pytest.mark.parametrize(("kappa", "want"), [(0.75, "usable for gating"), (0.6, "usable for gating"),
                                             (0.5, "relative comparisons only"), (0.39, "not usable"),
                                             (float("nan"), "not usable")])
def test_verdict_bands(kappa: float, want: str) -> None:
    assert verdict(kappa) == want


def test_consensus_is_the_majority_and_a_tie_has_none() -> None:
    assert consensus(["1", "1", "0"]) == "1" and consensus(["1", "0"]) is None and consensus(["2"]) == "2"


def test_label_files_in_jsonl_and_csv(tmp_path: Path) -> None:
    rows = [{"example_id": "a", "rater": "r1", "dimension": "correct", "label": 1},
            {"example_id": "a", "rater": "r2", "dimension": "correct", "label": "0"}]
    jsonl = load_labels(write_jsonl(tmp_path / "l.jsonl", rows))
    (tmp_path / "l.csv").write_text("example_id,rater,dimension,label\na,r1,correct,1\na,r2,correct,0\n")
    assert jsonl.labels == load_labels(tmp_path / "l.csv").labels
    with pytest.raises(EvalInputError, match=r"l\.jsonl:2: a second label"):
        load_labels(write_jsonl(tmp_path / "l.jsonl", [rows[0], rows[0]]))
    (tmp_path / "bad.csv").write_text("example_id,rater,label\na,r1,1\n")
    with pytest.raises(EvalInputError, match=r"bad\.csv:2: dimension"):
        load_labels(tmp_path / "bad.csv")


def grader(body: dict, call: int) -> Reply:
    """Right on most answers: grades "Paris" correct, anything else wrong, but calls answer q3 correct."""
    prompt = body["messages"][1]["content"]
    candidate = re.search(r"Candidate answer: (.*)\n\nGrade", prompt, re.DOTALL).group(1)
    ok = int("Paris" in candidate or "q3-answer" in candidate)
    if "broken" in candidate:
        return Reply(["not json at all"])
    return Reply([f'{{"rationale": "ok", "scores": {{"correct": {ok}, "on_topic": 1}}, "overall": {ok}}}'])


@pytest.fixture
def calibration_files(tmp_path: Path) -> dict[str, Path]:
    golden = write_jsonl(tmp_path / "golden.jsonl", [
        {"id": f"q{i}", "input": f"Capital of France ({i})?", "expected": {"answer": "Paris"},
         "labels": {"difficulty": "hard" if i < 3 else "easy"}} for i in range(10)])
    answers = write_jsonl(tmp_path / "answers.jsonl", [
        {"example_id": f"q{i}", "answer": "Paris" if i % 2 else ("broken" if i == 8 else f"q{i}-answer")}
        for i in range(10)])
    labels = write_jsonl(tmp_path / "labels.jsonl", [
        {"example_id": f"q{i}", "rater": rater, "dimension": "correct", "label": int(i % 2 == 1 or flip)}
        for i in range(10) for rater, flip in (("ann", False), ("bob", i == 4))])
    return {"golden": golden, "answers": answers, "labels": labels}


def test_calibrate_stores_a_report_whose_numbers_follow_from_the_stored_rows(
        capsys, tmp_path: Path, calibration_files) -> None:
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(grader) as server:
        code, out, err = run_cli(capsys, "calibrate", "--judge", str(JUDGE), "--dataset",
                                 str(calibration_files["golden"]), "--answers", str(calibration_files["answers"]),
                                 "--labels", str(calibration_files["labels"]), "--endpoint", server.url,
                                 "--model", "grader", "--db", str(db))
    assert code == 0, err
    assert "kappa vs consensus" in out
    with duckdb.connect(str(db), read_only=True) as con:
        cal_id, kappa, n_items, stored_verdict, report = con.execute(
            "SELECT calibration_id, kappa, n_items, verdict, report FROM calibrations").fetchone()
        judged = dict(con.execute("SELECT example_id, score FROM judgments WHERE run_id = ? AND dimension = 'correct' "
                                  "AND outcome = 'scored'", [cal_id]).fetchall())
        human = con.execute("SELECT example_id, rater, label FROM human_labels").fetchall()
    by_item: dict[str, list[str]] = {}
    for example_id, _, label in human:
        by_item.setdefault(example_id, []).append(label)
    rows = sorted(i for i in judged if consensus(by_item[i]) is not None)
    want = cohen_kappa([str(int(judged[i])) for i in rows], [consensus(by_item[i]) for i in rows], labels=["0", "1"])
    assert n_items == len(rows) == 8  # q8's reply did not parse; q4's raters tie
    assert kappa == pytest.approx(want, abs=1e-12)
    assert stored_verdict == verdict(want)
    assert json.loads(report)["parse_errors"] == 1


def test_calibrate_rejects_labels_off_the_judge_scale(capsys, tmp_path: Path, calibration_files) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"example_id": "q1", "rater": "ann", "dimension": "correct",
                                                "label": 5}])
    code, _, err = run_cli(capsys, "calibrate", "--judge", str(JUDGE), "--dataset", str(calibration_files["golden"]),
                           "--answers", str(calibration_files["answers"]), "--labels", str(bad),
                           "--db", str(tmp_path / "gg.duckdb"))
    assert_one_line_error(code, err, f"{bad}:1", "label", "[0, 1]")
    code, _, err = run_cli(capsys, "calibrate", "--judge", str(JUDGE), "--dataset", str(calibration_files["golden"]),
                           "--answers", str(calibration_files["answers"]), "--db", str(tmp_path / "gg.duckdb"))
    assert_one_line_error(code, err, "--labels")
    assert not (tmp_path / "gg.duckdb").exists()


def test_calibration_stops_when_the_raters_disagree_among_themselves(capsys, tmp_path: Path,
                                                                     calibration_files) -> None:
    """bob labels at random against ann: their kappa is under 0.4, so no calibration of a judge against
    their labels is stored, and the message says the rubric is the problem."""
    rng = np.random.default_rng(0)
    noisy = write_jsonl(tmp_path / "noisy.jsonl", [
        {"example_id": f"q{i}", "rater": rater, "dimension": "correct",
         "label": int(i % 2 == 1) if rater == "ann" else int(rng.random() < 0.5)}
        for i in range(10) for rater in ("ann", "bob")])
    ann = [int(i % 2 == 1) for i in range(10)]
    bob = [json.loads(line)["label"] for line in noisy.read_text().splitlines() if '"bob"' in line]
    assert cohen_kappa([str(v) for v in ann], [str(v) for v in bob], labels=["0", "1"]) < 0.4  # the plant holds
    db = tmp_path / "gg.duckdb"
    with OpenAIStub(grader) as server:
        code, _, err = run_cli(capsys, "calibrate", "--judge", str(JUDGE), "--dataset", str(calibration_files["golden"]),
                               "--answers", str(calibration_files["answers"]), "--labels", str(noisy),
                               "--endpoint", server.url, "--model", "grader", "--db", str(db))
    assert_one_line_error(code, err, str(noisy), "raters ann and bob disagree among themselves", "the rubric")
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM calibrations").fetchone()[0] == 0
