"""The default model as a judge over the shipped calibration subset of general-v1: every reply parses (its
schema is a structured output), and the stored calibration report's numbers are recomputed here from the
stored rows with `evals.stats`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest

from evals.judges.calibration import consensus, verdict
from evals.stats.agreement import cohen_kappa, interpret_kappa
from tests.cli_helpers import run_cli

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]
CALIBRATION = ROOT / "datasets" / "general-v1" / "calibration"


def test_judge_calibration_on_the_default_model(capsys, tmp_path: Path, default_model_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    code, out, err = run_cli(capsys, "calibrate", "--judge", str(ROOT / "datasets" / "judges" / "correctness-v1.yaml"),
                             "--dataset", str(ROOT / "datasets" / "general-v1" / "general-v1.jsonl"),
                             "--answers", str(CALIBRATION / "answers.jsonl"),
                             "--labels", str(CALIBRATION / "labels.jsonl"), "--reference", "--db", str(db))
    assert code == 0, err
    with duckdb.connect(str(db), read_only=True) as con:
        cal_id, model, n_items, kappa, stored_verdict, report = con.execute(
            "SELECT calibration_id, judge_model_id, n_items, kappa, verdict, report FROM calibrations "
            "WHERE dimension = 'correct'").fetchone()
        rows = con.execute("SELECT example_id, outcome, score FROM judgments WHERE run_id = ? AND dimension = 'correct'",
                           [cal_id]).fetchall()
        human = dict(con.execute("SELECT example_id, label FROM human_labels WHERE dimension = 'correct'").fetchall())
    report = json.loads(report)
    assert model.startswith("SmolLM2-135M") and len(rows) == len(human) == 40
    scored = {e: str(int(s)) for e, outcome, s in rows if outcome == "scored"}
    assert report["parse_errors"] == 0 and len(scored) == 40  # the reply's schema is enforced as it is decoded
    items = sorted(i for i in scored if consensus([human[i]]) is not None)
    want = cohen_kappa([scored[i] for i in items], [human[i] for i in items], labels=["0", "1"])
    assert n_items == len(items)
    assert (kappa is None and math.isnan(want)) or kappa == pytest.approx(want, abs=1e-12)
    assert stored_verdict == verdict(want) and report["band"] == interpret_kappa(want)
    assert report["marginals"]["goldgate-team"] == {"0": 25, "1": 15}
    assert "verdict" in out and stored_verdict in out
