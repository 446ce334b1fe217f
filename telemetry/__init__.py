"""The one package that knows OpenTelemetry: provider set-up from `OTEL_*` variables, GenAI spans and
metrics, content capture with redaction, and goldgate's own span sinks. It imports no sibling."""

from telemetry.genai import GenerationRecord, SpanIds, record_generation, wall_ns
from telemetry.setup import Telemetry, configure

__all__ = ["GenerationRecord", "SpanIds", "Telemetry", "configure", "record_generation", "wall_ns"]
