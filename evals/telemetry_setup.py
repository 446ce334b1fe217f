"""Telemetry for a CLI command: `telemetry.configure` with a bad `OTEL_*` value turned into a usage
error (one line naming the variable, exit 2)."""

from __future__ import annotations

from pathlib import Path

from evals.errors import UsageError
from telemetry import Telemetry, configure
from telemetry.settings import TelemetryConfigError
from telemetry.sinks import SpanRowBuffer


def configure_telemetry(*, service_name: str, prometheus: bool = False, span_rows: SpanRowBuffer | None = None,
                        jsonl_path: Path | None = None) -> Telemetry:
    try:
        return configure(service_name=service_name, prometheus=prometheus, span_rows=span_rows, jsonl_path=jsonl_path)
    except TelemetryConfigError as e:
        raise UsageError(str(e)) from None
