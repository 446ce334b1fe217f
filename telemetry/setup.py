"""Tracer, meter and logger providers built from the environment, and the handle the engine, the server
and the harness are given. Providers are passed in, never made global: tests build a `Telemetry` over
in-memory exporters, and two in one process never share state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

from prometheus_client import CollectorRegistry

from telemetry.attribution import BoundedLabels
from telemetry.instruments import Instruments
from telemetry.prices import PriceTable
from telemetry.redact import Redactor
from telemetry.settings import CaptureMode, TelemetrySettings
from telemetry.sinks import JsonlSpanExporter, SpanRowBuffer
from telemetry.tail_policy import SamplingPolicy
from telemetry.tail_sampler import SAMPLING_DECISION, TailSamplingProcessor

SCOPE = "goldgate"


@dataclass
class Telemetry:
    """What instrumented code needs: a tracer, the instruments, an event logger and the content policy."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    capture: CaptureMode = CaptureMode.NO_CONTENT
    redactor: Redactor = field(default_factory=Redactor)
    prometheus_registry: CollectorRegistry | None = None  # what a server's /metrics exposes, if it has one
    prices: PriceTable | None = None  # when given, every generation span and the cost counter carry its cost

    def __post_init__(self) -> None:
        self.tracer = self.tracer_provider.get_tracer(SCOPE)
        self.instruments = Instruments(self.meter_provider.get_meter(SCOPE))
        self.logger = self.logger_provider.get_logger(SCOPE)
        self.labels = BoundedLabels()

    def shutdown(self) -> None:
        """Flush everything still buffered to its exporters, then stop them."""
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown()


def configure(*, env: Mapping[str, str], service_name: str = "goldgate", jsonl_path: Path | None = None,
              span_rows: SpanRowBuffer | None = None, prometheus: bool = False,
              prices: PriceTable | None = None, sampling: SamplingPolicy | None = None) -> Telemetry:
    """Telemetry from `OTEL_*` variables in `env` (the caller reads the environment, once) plus goldgate's
    own sinks: a JSONL file, span rows for the DuckDB store, and with `prometheus` a registry for a
    server's /metrics; `prices` costs every generation; `sampling` tail-samples the traces every span
    sink and exporter receives. Each call builds a new handle; its owner passes it down and shuts it down."""
    return _build(TelemetrySettings.from_env(env), service_name, jsonl_path, span_rows, prometheus, prices, sampling)


def _build(settings: TelemetrySettings, service_name: str, jsonl_path: Path | None, span_rows: SpanRowBuffer | None,
           prometheus: bool, prices: PriceTable | None, sampling: SamplingPolicy | None) -> Telemetry:
    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over our default name
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": service_name}))
    processors: list[SpanProcessor] = []
    readers: list[MetricReader] = []
    registry = CollectorRegistry() if prometheus else None
    if registry is not None:
        readers.append(PrometheusMetricReader(registry=registry))
    logs = LoggerProvider(resource=resource)
    if not settings.disabled:
        processors += [BatchSpanProcessor(_exporter("traces", name, settings)) for name in settings.exporters["traces"]]
        readers += [PeriodicExportingMetricReader(_exporter("metrics", name, settings))
                    for name in settings.exporters["metrics"]]
        for name in settings.exporters["logs"]:
            logs.add_log_record_processor(BatchLogRecordProcessor(_exporter("logs", name, settings)))
    if jsonl_path is not None:
        processors.append(BatchSpanProcessor(JsonlSpanExporter(jsonl_path)))
    if span_rows is not None:
        processors.append(SimpleSpanProcessor(span_rows))  # only appends to a list; the store drains it
    sampler = TailSamplingProcessor(sampling, processors) if sampling is not None and processors else None
    traces = TracerProvider(resource=resource)
    for processor in [sampler] if sampler else processors:
        traces.add_span_processor(processor)
    tel = Telemetry(traces, MeterProvider(metric_readers=readers, resource=resource), logs, capture=settings.capture,
                    prometheus_registry=registry, prices=prices)
    if sampler is not None:
        sampler.on_decision = lambda d: tel.instruments.sampled_traces.add(
            1, {SAMPLING_DECISION: "kept" if d.keep else "dropped"})
    return tel


def _exporter(signal: str, name: str, settings: TelemetrySettings):
    """The exporter `name` for `signal`; OTLP exporters read their endpoint and headers from the environment."""
    if name == "console":
        return {"traces": ConsoleSpanExporter, "metrics": ConsoleMetricExporter, "logs": ConsoleLogRecordExporter}[signal]()
    if settings.protocols[signal] == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return {"traces": OTLPSpanExporter, "metrics": OTLPMetricExporter, "logs": OTLPLogExporter}[signal]()
