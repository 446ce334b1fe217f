"""Telemetry over in-memory exporters, as OTel's own instrumentation tests build it: spans, metric
points and log records (the evaluation events) read back directly, plus a Prometheus registry."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from telemetry import Telemetry
from telemetry.prices import PriceTable
from telemetry.redact import Redactor
from telemetry.settings import CaptureMode


@dataclass
class MemoryTelemetry:
    capture: CaptureMode = CaptureMode.NO_CONTENT
    spans: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    metrics: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    logs: InMemoryLogRecordExporter = field(default_factory=InMemoryLogRecordExporter)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    prices: PriceTable | None = None

    def __post_init__(self) -> None:
        traces = TracerProvider()
        traces.add_span_processor(SimpleSpanProcessor(self.spans))
        logs = LoggerProvider()
        logs.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        meters = MeterProvider(metric_readers=[self.metrics, PrometheusMetricReader(registry=self.registry)])
        self.tel = Telemetry(traces, meters, logs, capture=self.capture, redactor=Redactor(),
                             prometheus_registry=self.registry, prices=self.prices)

    def finished(self, name_prefix: str = "", *, wait_for: int = 0, timeout: float = 10) -> list[ReadableSpan]:
        """Finished spans named `name_prefix...`, waiting up to `timeout` s until there are `wait_for`."""
        deadline = time.monotonic() + timeout
        while True:
            spans = [s for s in self.spans.get_finished_spans() if s.name.startswith(name_prefix)]
            if len(spans) >= wait_for or time.monotonic() > deadline:
                return spans
            time.sleep(0.01)

    def metric_points(self, name: str) -> list[Any]:
        """Every data point of the metric `name` collected now."""
        data = self.metrics.get_metrics_data()
        return [p for rm in (data.resource_metrics if data else []) for sm in rm.scope_metrics
                for m in sm.metrics if m.name == name for p in m.data.data_points]

    def evaluation_events(self) -> list[Any]:
        return [r.log_record for r in self.logs.get_finished_logs()
                if r.log_record.event_name == "gen_ai.evaluation.result"]

