"""Telemetry set-up from the standard `OTEL_*` variables: exporters, protocols, errors that name the
variable, idempotent set-up, and a shutdown that flushes goldgate's own JSONL sink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import telemetry
from telemetry.settings import TelemetryConfigError, TelemetrySettings
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import examples, write_jsonl, write_suite


def test_without_an_endpoint_nothing_is_exported_and_with_one_otlp_over_http_is_the_default() -> None:
    assert TelemetrySettings.from_env({}).exporters == {"traces": (), "metrics": (), "logs": ()}
    on = TelemetrySettings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert on.exporters == {"traces": ("otlp",), "metrics": ("otlp",), "logs": ("otlp",)}
    assert set(on.protocols.values()) == {"http/protobuf"}


def test_each_signal_takes_its_own_exporters_and_protocol() -> None:
    s = TelemetrySettings.from_env({"OTEL_TRACES_EXPORTER": "otlp,console", "OTEL_METRICS_EXPORTER": "none",
                                    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                                    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf"})
    assert s.exporters["traces"] == ("otlp", "console") and s.exporters["metrics"] == ()
    assert s.protocols == {"traces": "grpc", "metrics": "grpc", "logs": "http/protobuf"}


@pytest.mark.parametrize("env, named", [
    ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ({"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "udp"}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
])
def test_a_bad_value_names_its_variable(env, named) -> None:
    with pytest.raises(TelemetryConfigError, match=f"^{named}: "):
        TelemetrySettings.from_env(env)


def test_each_handle_is_its_own_and_shutdown_flushes_its_jsonl_sink(tmp_path: Path) -> None:
    first_sink, second_sink = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first = telemetry.configure(env={}, jsonl_path=first_sink, service_name="t1")
    second = telemetry.configure(env={}, jsonl_path=second_sink, service_name="t2")
    assert second is not first  # no process-wide instance: a second call's arguments are not ignored
    try:
        first.tracer.start_span("one").end()
        first.tracer.start_span("two").end()
        second.tracer.start_span("three").end()
    finally:
        first.shutdown()
        second.shutdown()
    spans = [json.loads(line) for line in first_sink.read_text().splitlines()]
    assert [s["name"] for s in spans] == ["one", "two"]
    assert spans[0]["resource"]["attributes"]["service.name"] == "t1"
    (other,) = [json.loads(line) for line in second_sink.read_text().splitlines()]
    assert other["name"] == "three" and other["resource"]["attributes"]["service.name"] == "t2"


def test_goldgate_run_with_a_bad_otel_variable_stops_with_exit_2_before_storing_anything(
        capsys, monkeypatch, tmp_path: Path, tiny_gguf: Path) -> None:
    suite = write_suite(tmp_path / "suite.yaml", write_jsonl(tmp_path / "golden.jsonl", examples(3)), tiny_gguf)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin-please")
    code, out, err = run_cli(capsys, "run", str(suite), "--db", str(tmp_path / "gg.duckdb"))
    assert_one_line_error(code, err, "OTEL_TRACES_EXPORTER", "zipkin-please")
    assert not (tmp_path / "gg.duckdb").exists()
