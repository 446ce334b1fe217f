"""End to end on the default model: two runs that differ only in their sampling seed pass the shipped
gate; a run whose system prompt demands French answers fails it, on the slices French breaks, with
exit 1 and a Markdown report naming them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli_helpers import run_cli

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]
GENERAL = ROOT / "datasets" / "general-v1"


def suite(tmp_path: Path, name: str, seed: int, prompt: dict | None = None) -> Path:
    spec = yaml.safe_load((GENERAL / "suite.yaml").read_text())
    spec |= {"name": name, "dataset": str(GENERAL / "general-v1.jsonl"), "engine": {"device": "cpu"},
             "sampling": {"temperature": 0.5, "seed": seed, "max_tokens": 48}}
    if prompt:
        spec["prompt"] = prompt
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run(capsys, db: Path, suite_path: Path, tag: str) -> str:
    code, out, err = run_cli(capsys, "run", str(suite_path), "--db", str(db), "--tag", tag)
    assert code == 0, err
    return out.split(":")[0].strip()


def gate(capsys, db: Path, candidate: str, out: Path) -> tuple[int, dict, str]:
    code, report, err = run_cli(capsys, "gate", "--candidate", candidate, "--baseline-tag", "baseline", "--policy",
                                str(GENERAL / "gate.yaml"), "--db", str(db), "--json", str(out))
    assert code in (0, 1), err
    return code, json.loads(out.read_text()), report


def test_seed_noise_passes_and_a_french_prompt_fails(capsys, tmp_path: Path, default_model_path: Path) -> None:
    db = tmp_path / "gg.duckdb"
    run(capsys, db, suite(tmp_path, "seed1", 1), "baseline")
    reseeded = run(capsys, db, suite(tmp_path, "seed2", 2), "candidate")
    french = run(capsys, db, suite(tmp_path, "french", 1, {"system": "Tu réponds toujours en français, jamais en "
                                                                    "anglais, même si la question est en anglais."}),
                 "candidate")

    code, result, report = gate(capsys, db, reseeded, tmp_path / "same.json")
    assert code == 0, report

    code, result, report = gate(capsys, db, french, tmp_path / "french.json")
    failing = {c["name"] for c in result["checks"] if c["status"] == "fail"}
    assert code == 1 and "FAILED" in report and "contains_all @ intent=format_list" in report.split("### Metrics")[0]
    # lists of days, months and planets now come in French, without the English names they must contain
    assert "contains_all @ intent=format_list" in failing
    assert all(name.split(" @ ")[0] in yaml.safe_load((GENERAL / "gate.yaml").read_text())["metrics"]
               or name.startswith("guard rail") for name in failing)
