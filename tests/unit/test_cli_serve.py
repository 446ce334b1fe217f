"""`goldgate serve` refuses bad flags with one line naming the flag, and exit code 2, before loading anything."""

from __future__ import annotations

import socket

import pytest

from tests.cli_helpers import assert_one_line_error, run_cli


@pytest.mark.parametrize("args,needle", [
    (["--port", "70000"], "--port"),
    (["--max-waiting", "0"], "--max-waiting"),
    (["--kv-cache-tokens", "-5"], "--kv-cache-tokens"),
    (["--model", "/nonexistent/model.gguf"], "/nonexistent/model.gguf"),
])
def test_bad_flags_are_one_line_errors(capsys, args, needle) -> None:
    assert_one_line_error(*run_cli(capsys, "serve", *args)[::2], needle)


def test_a_store_that_cannot_be_opened_is_a_one_line_error(capsys, tmp_path) -> None:
    code, _, err = run_cli(capsys, "serve", "--db", str(tmp_path))  # a folder, not a DuckDB file
    assert_one_line_error(code, err, str(tmp_path), "cannot open the store")


def test_a_bad_otel_variable_is_a_one_line_error(capsys, monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    assert_one_line_error(*run_cli(capsys, "serve")[::2], "OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")


def test_a_port_already_taken_is_a_one_line_error(capsys, tiny_gguf) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        code, _, err = run_cli(capsys, "serve", "--model", str(tiny_gguf), "--port", port)
    assert_one_line_error(code, err, "--host/--port", port)
