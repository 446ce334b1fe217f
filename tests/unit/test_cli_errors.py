"""Bad input on the command line: one line naming the problem, exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q

from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import examples, write_jsonl, write_suite
from tests.tiny_models import write_gguf


def test_missing_model_file(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    assert_one_line_error(*run_cli(capsys, "generate", "hi", "--model", str(missing))[::2], str(missing))


def test_truncated_gguf(capsys, tmp_path: Path, tiny_gguf: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[: tiny_gguf.stat().st_size * 2 // 3])
    assert_one_line_error(*run_cli(capsys, "generate", "hi", "--model", str(cut))[::2], str(cut), "truncated")


def test_corrupt_gguf(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    assert_one_line_error(*run_cli(capsys, "generate", "hi", "--model", str(bad))[::2], str(bad), "not a valid GGUF")


def test_unsupported_architecture(capsys, tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "mamba.gguf", arch="mamba")
    assert_one_line_error(*run_cli(capsys, "generate", "hi", "--model", str(path))[::2], "'mamba'", "not supported")


def test_unsupported_tensor_type(capsys, tmp_path: Path) -> None:
    raw = np.random.default_rng(0).integers(0, 255, size=(64, 64 // 32 * 22), dtype=np.uint8)  # Q5_0: 22 B / 32
    path = write_gguf(tmp_path / "k.gguf", raw_override={"blk.0.attn_output.weight": (raw, Q.Q5_0)})
    assert_one_line_error(*run_cli(capsys, "generate", "hi", "--model", str(path))[::2],
                          "blk.0.attn_output.weight", "Q5_0", "not supported")


def test_prompt_longer_than_the_context_window(capsys, tiny_gguf: Path) -> None:
    code, _, err = run_cli(capsys, "generate", "word " * 100, "--model", str(tiny_gguf))
    assert_one_line_error(code, err, "context window", "64")


@pytest.mark.parametrize("flag,value", [("--temperature", "-1"), ("--top-p", "0"), ("--top-p", "1.5"),
                                        ("--max-tokens", "0"), ("--top-k", "-3")])
def test_invalid_sampling_values_name_the_flag(capsys, tiny_gguf: Path, flag: str, value: str) -> None:
    code, _, err = run_cli(capsys, "generate", "hi", "--model", str(tiny_gguf), flag, value)
    assert_one_line_error(code, err, flag, value)


def test_non_numeric_flag_is_a_usage_error(capsys) -> None:
    code, _, err = run_cli(capsys, "generate", "hi", "--temperature", "warm")
    assert code == 2 and "--temperature" in err and "Traceback" not in err


def test_the_installed_console_script_exits_2(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("goldgate")
    done = subprocess.run([str(exe), "generate", "hi", "--model", str(tmp_path / "absent.gguf")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "absent.gguf" in done.stderr


def test_tiny_model_generates_through_the_cli(capsys, tiny_gguf: Path) -> None:
    code, out, _ = run_cli(capsys, "generate", "hi", "--model", str(tiny_gguf), "--max-tokens", "5", "--temperature", "0")
    assert code == 0 and out.endswith("\n")


def test_a_defect_of_goldgate_exits_3_with_its_traceback_never_1(capsys, monkeypatch, tmp_path) -> None:
    import evals.cli.datasets

    def broken(path):  # a bug deep inside a command, not bad input
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(evals.cli.datasets, "load_golden_set", broken)
    code, _, err = run_cli(capsys, "datasets", "validate", str(tmp_path / "any.jsonl"))
    assert code == 3
    assert "Traceback" in err and "ZeroDivisionError: planted" in err
    assert err.strip().splitlines()[-1].startswith("goldgate: internal error (exit 3)")


def test_generate_exports_its_generation_as_a_span(capsys, tmp_path, tiny_gguf) -> None:
    spans = tmp_path / "spans.jsonl"
    code, out, err = run_cli(capsys, "generate", "hi", "--model", str(tiny_gguf), "--max-tokens", "3", "--device",
                             "cpu", "--spans-jsonl", str(spans))
    assert code == 0, err
    (span,) = [json.loads(line) for line in spans.read_text().splitlines()]
    assert span["name"].startswith("chat ") and span["attributes"]["gen_ai.usage.output_tokens"] == 3


def test_a_spans_file_that_cannot_be_written_is_bad_input(capsys, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "generate", "hi", "--spans-jsonl", str(blocker / "spans.jsonl"))
    assert_one_line_error(code, err, "--spans-jsonl", "a-file")


@pytest.mark.parametrize("address,phrase", [("", "give the cluster's address"), ("not an address", "cannot join")])
def test_a_bad_ray_address_names_the_flag_and_stores_nothing(capsys, tmp_path, tiny_gguf, address, phrase) -> None:
    suite = write_suite(tmp_path / "suite.yaml", write_jsonl(tmp_path / "golden.jsonl", examples(2)), tiny_gguf)
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "gg.duckdb"), "--ray", address)
    assert_one_line_error(code, err, "--ray", phrase)
    assert not (tmp_path / "gg.duckdb").exists()
