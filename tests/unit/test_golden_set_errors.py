"""Eleven kinds of broken golden set or suite: exit 2, the file and line named, and nothing stored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import examples, write_jsonl, write_suite


@pytest.fixture(scope="module")
def store_with_a_run(tmp_path_factory: pytest.TempPathFactory, tiny_gguf: Path) -> Path:
    """A store that already holds one finished run: bad input must leave it exactly as it was."""
    folder = tmp_path_factory.mktemp("store")
    suite = write_suite(folder / "suite.yaml", write_jsonl(folder / "good.jsonl", examples()), tiny_gguf)
    from evals.cli import main
    assert main(["run", str(suite), "--db", str(folder / "gg.duckdb"), "--json", str(folder / "s.json")]) == 0
    return folder / "gg.duckdb"


def run_on_a_copy(capsys, suite: Path, store: Path, tmp_path: Path) -> tuple[int, str]:
    """`goldgate run` against a copy of the store; asserts the copy was left exactly as it was."""
    db = tmp_path / "gg.duckdb"
    shutil.copy(store, db)
    before = table_counts(db)
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db))
    assert table_counts(db) == before
    return code, err


def table_counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "results", "scores")}


def lines_with(line_no: int, text: str) -> str:
    rows = [json.dumps(r) for r in examples(8)]
    rows[line_no - 1] = text
    return "\n".join(rows) + "\n"


def _dup() -> str:
    rows = [json.dumps(r) for r in examples(8)]
    rows[3] = rows[1]
    return "\n".join(rows) + "\n"


def _without_input() -> str:
    rows = examples(8)
    del rows[2]["input"]
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def _mutated(line_no: int, **changes) -> str:
    rows = examples(8)
    for key, value in changes.items():
        target = rows[line_no - 1]
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def _latin1_on_line(line_no: int) -> bytes:
    rows = [json.dumps(r).encode() for r in examples(8)]
    rows[line_no - 1] = rows[line_no - 1].replace(b"Question", b"Qu\xe9stion")  # Latin-1, not UTF-8
    return b"\n".join(rows) + b"\n"


BROKEN_SETS = {
    "bad JSON on line 7": (lines_with(7, '{"id": "x", "input": "hi",'), ":7", "not valid JSON"),
    "duplicate id": (_dup(), ":4", "duplicate id 'ex-1'"),
    "missing input": (_without_input(), ":3", "input"),
    "wrong type": (_mutated(2, **{"expected.answer": 42}), ":2", "expected.answer"),
    "tests that are not Python": (_mutated(5, **{"expected.tests": "assert add(1,"}), ":5", "expected.tests"),
    "invalid UTF-8": (_latin1_on_line(5), ":5", "invalid UTF-8"),
    "empty file": ("\n", ":1", "no examples"),
    "label value not a string": (_mutated(2, **{"labels.difficulty": 3}), ":2", "labels.difficulty"),
    "invalid JSON schema": (_mutated(4, **{"expected.json_schema": {"type": "thing"}}), ":4", "expected.json_schema"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SETS))
def test_broken_golden_set(case: str, capsys, tmp_path: Path, tiny_gguf: Path, store_with_a_run: Path) -> None:
    content, where, what = BROKEN_SETS[case]
    dataset = tmp_path / "golden.jsonl"
    dataset.write_bytes(content if isinstance(content, bytes) else content.encode())
    suite = write_suite(tmp_path / "suite.yaml", dataset, tiny_gguf)
    code, err = run_on_a_copy(capsys, suite, store_with_a_run, tmp_path)
    assert_one_line_error(code, err, f"{dataset}{where}", what)


def test_unknown_scorer_in_the_suite(capsys, tmp_path: Path, tiny_gguf: Path, store_with_a_run: Path) -> None:
    dataset = write_jsonl(tmp_path / "golden.jsonl", examples())
    suite = write_suite(tmp_path / "suite.yaml", dataset, tiny_gguf, scorers=["exact_match", "bleurt"])
    line = 1 + suite.read_text().splitlines().index("- bleurt")
    code, err = run_on_a_copy(capsys, suite, store_with_a_run, tmp_path)
    assert_one_line_error(code, err, f"{suite}:{line}", "scorers.1", "unknown scorer 'bleurt'")


def test_dataset_path_that_does_not_exist(capsys, tmp_path: Path, tiny_gguf: Path, store_with_a_run: Path) -> None:
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "missing.jsonl", tiny_gguf)
    line = 1 + suite.read_text().splitlines().index(f"dataset: {tmp_path / 'missing.jsonl'}")
    code, err = run_on_a_copy(capsys, suite, store_with_a_run, tmp_path)
    assert_one_line_error(code, err, f"{suite}:{line}", "dataset", "missing.jsonl")


def test_no_store_is_created_for_bad_input(capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    dataset = tmp_path / "golden.jsonl"
    dataset.write_text(lines_with(2, "[1, 2]"), encoding="utf-8")
    suite = write_suite(tmp_path / "suite.yaml", dataset, tiny_gguf)
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "new.duckdb"))
    assert_one_line_error(code, err, f"{dataset}:2", "JSON object")
    assert not (tmp_path / "new.duckdb").exists()


def test_unknown_suite_key_names_its_line(capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    dataset = write_jsonl(tmp_path / "golden.jsonl", examples())
    suite = write_suite(tmp_path / "suite.yaml", dataset, tiny_gguf, sampling={"temperature": 0, "max_tokenz": 5})
    line = 1 + suite.read_text().splitlines().index("  max_tokenz: 5")
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "gg.duckdb"))
    assert_one_line_error(code, err, f"{suite}:{line}", "sampling.max_tokenz", "Extra inputs")


def test_a_slice_key_no_example_has_names_the_suite(capsys, tmp_path: Path, tiny_gguf: Path,
                                                    store_with_a_run: Path) -> None:
    dataset = write_jsonl(tmp_path / "golden.jsonl", examples())
    suite = write_suite(tmp_path / "suite.yaml", dataset, tiny_gguf, slices=["intent", "dificulty"])
    code, err = run_on_a_copy(capsys, suite, store_with_a_run, tmp_path)
    assert_one_line_error(code, err, str(suite), "slices", "'dificulty'", "difficulty")


SUITE_MISTAKES = {  # each was a traceback and exit 1 once; now exit 2 naming the field, before any row
    "regex that does not compile": ({"scorers": [{"regex": {"pattern": "(unclosed"}}]}, "scorers.0",
                                    "not a valid regular expression"),
    "template that does not parse": ({"prompt": {"user": "{{ input "}}, "prompt.user", "not a valid template"),
    "template naming an undefined variable": ({"prompt": {"user": "{{ inptu }}"}}, "prompt.user", "'inptu'"),
    "seed out of range": ({"sampling": {"temperature": 0.7, "seed": 2**70, "max_tokens": 4}}, "sampling.seed",
                          "less than"),
}


@pytest.mark.parametrize("case", sorted(SUITE_MISTAKES))
def test_a_suite_mistake_exits_2_before_anything_is_stored(case: str, capsys, tmp_path: Path, tiny_gguf: Path,
                                                           store_with_a_run: Path) -> None:
    fields, field, what = SUITE_MISTAKES[case]
    dataset = write_jsonl(tmp_path / "golden.jsonl", examples())
    suite = write_suite(tmp_path / "suite.yaml", dataset, tiny_gguf, **fields)
    code, err = run_on_a_copy(capsys, suite, store_with_a_run, tmp_path)
    assert_one_line_error(code, err, str(suite), field, what)
