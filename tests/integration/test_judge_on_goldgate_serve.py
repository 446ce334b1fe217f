"""A suite whose model and judge are both `goldgate serve` on the default model: the judge's started
reply (`continue_final_message`) reaches the model, so every judge call is answered and judged (the
135M model's replies do not always parse; none may fail as a refused request)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx
import pytest

from tests.cli_helpers import run_cli
from tests.eval_files import write_suite
from tests.serving import goldgate_serve

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "datasets" / "smoke" / "smoke.jsonl"
JUDGE = ROOT / "datasets" / "judges" / "correctness-v1.yaml"


def test_a_judge_served_by_goldgate_judges_every_answer(capsys, tmp_path: Path, default_model_path: Path) -> None:
    with goldgate_serve("--model", str(default_model_path), "--device", "cpu", log=tmp_path / "serve.log") as url:
        model = httpx.get(f"{url}/v1/models", timeout=10).json()["data"][0]["id"]
        endpoint = {"url": f"{url}/v1", "model": model}
        suite = write_suite(tmp_path / "suite.yaml", SMOKE, None, engine=None, endpoint=endpoint,
                            sampling={"temperature": 0, "max_tokens": 24}, scorers=["exact_match"], slices=None,
                            judges=[{"prompt": str(JUDGE), "endpoint": endpoint}])
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "gg.duckdb"))
    assert code == 0, err
    with duckdb.connect(str(tmp_path / "gg.duckdb"), read_only=True) as con:
        outcomes = dict(con.execute("SELECT outcome, count(*) FROM judgments WHERE dimension = 'overall' "
                                    "GROUP BY ALL").fetchall())
        judge_scores = con.execute("SELECT count(DISTINCT example_id) FROM scores WHERE scorer LIKE 'correctness%'"
                                   ).fetchone()[0]
    assert sum(outcomes.values()) == 10 and "error" not in outcomes, outcomes  # every call was answered
    assert judge_scores == outcomes.get("scored") and judge_scores >= 1
