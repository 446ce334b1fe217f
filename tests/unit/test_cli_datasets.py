"""`goldgate datasets`: validate, hash, stats and split on real files, including the shipped sets."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from evals.golden.dataset import is_holdout, load_golden_set
from tests.cli_helpers import assert_one_line_error, run_cli

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
SHIPPED = [DATASETS / "general-v1" / "general-v1.jsonl", DATASETS / "smoke" / "smoke.jsonl"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_sets_validate_and_hash_to_their_bytes(capsys, path: Path) -> None:
    code, out, _ = run_cli(capsys, "datasets", "validate", str(path))
    assert code == 0 and "valid" in out
    code, out, _ = run_cli(capsys, "datasets", "hash", str(path))
    assert code == 0 and out.split()[0] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_split_writes_the_lines_of_each_part_unchanged(capsys, tmp_path: Path) -> None:
    path = SHIPPED[0]
    code, out, _ = run_cli(capsys, "datasets", "split", str(path), "--holdout", "0.2", "--out", str(tmp_path))
    assert code == 0
    public = (tmp_path / "general-v1.public.jsonl").read_text().splitlines()
    private = (tmp_path / "general-v1.holdout.jsonl").read_text().splitlines()
    assert sorted(public + private) == sorted(path.read_text().splitlines())
    assert all(is_holdout(json.loads(line)["id"], 0.2) for line in private)
    assert not any(is_holdout(json.loads(line)["id"], 0.2) for line in public)
    assert f"{len(private)} private holdout" in out


def test_the_holdout_is_about_the_asked_share_and_moves_with_the_salt() -> None:
    ids = [f"id-{i}" for i in range(5000)]
    share = sum(is_holdout(i, 0.2) for i in ids) / len(ids)
    assert 0.18 < share < 0.22
    assert {i for i in ids if is_holdout(i, 0.2)} != {i for i in ids if is_holdout(i, 0.2, salt="2027-q1")}


def test_stats_counts_every_slice(capsys) -> None:
    golden = load_golden_set(SHIPPED[0])
    code, out, _ = run_cli(capsys, "datasets", "stats", str(SHIPPED[0]))
    assert code == 0
    hard = sum(ex.labels["difficulty"] == "hard" for ex in golden.examples)
    assert re.search(rf"difficulty\s*│\s*hard\s*│\s*{hard}\s*│", out)


def test_bad_flags_and_files_are_named(capsys, tmp_path: Path) -> None:
    assert_one_line_error(*run_cli(capsys, "datasets", "split", str(SHIPPED[1]), "--holdout", "1.5")[::2], "--holdout")
    assert_one_line_error(*run_cli(capsys, "datasets", "validate", str(tmp_path / "x.jsonl"))[::2], "x.jsonl")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_shipped_set_has_a_changelog_entry_for_its_current_bytes(path: Path) -> None:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha in (path.parent / "CHANGELOG.md").read_text(), "the set changed: add a CHANGELOG entry with its SHA"
