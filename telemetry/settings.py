"""The telemetry settings, read once from the standard `OTEL_*` environment variables.

The SDK reads the rest itself: `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` (the resource),
`OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (the sampler), `OTEL_EXPORTER_OTLP_*ENDPOINT` and
headers (the exporters). A bad value is an error naming the variable, never a silent default.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping

EXPORTERS = ("otlp", "console", "none")
PROTOCOLS = ("grpc", "http/protobuf")
SIGNALS = ("traces", "metrics", "logs")


class TelemetryConfigError(ValueError):
    """An `OTEL_*` variable holds a value goldgate cannot use."""


class CaptureMode(enum.Enum):
    """Where message content goes: the values OTel's Python GenAI instrumentations use."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        return self in (CaptureMode.SPAN_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def as_event(self) -> bool:
        return self in (CaptureMode.EVENT_ONLY, CaptureMode.SPAN_AND_EVENT)


CAPTURE_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CAPTURE_ALIASES = {"TRUE": CaptureMode.SPAN_ONLY, "FALSE": CaptureMode.NO_CONTENT}


@dataclass(frozen=True)
class TelemetrySettings:
    exporters: Mapping[str, tuple[str, ...]]  # signal -> exporter names, "none" removed
    protocols: Mapping[str, str]  # signal -> OTLP protocol
    capture: CaptureMode = CaptureMode.NO_CONTENT
    disabled: bool = False  # OTEL_SDK_DISABLED

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "TelemetrySettings":
        return cls(exporters={s: _exporters(env, s) for s in SIGNALS},
                   protocols={s: _protocol(env, s) for s in SIGNALS},
                   capture=capture_mode(env.get(CAPTURE_VARIABLE)),
                   disabled=env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true")


def capture_mode(value: str | None) -> CaptureMode:
    if not value or not value.strip():
        return CaptureMode.NO_CONTENT
    key = value.strip().upper()
    if key in _CAPTURE_ALIASES:
        return _CAPTURE_ALIASES[key]
    try:
        return CaptureMode(key)
    except ValueError:
        allowed = ", ".join([m.value for m in CaptureMode] + ["true", "false"])
        raise TelemetryConfigError(f"{CAPTURE_VARIABLE}: one of {allowed}; got {value!r}") from None


def _exporters(env: Mapping[str, str], signal: str) -> tuple[str, ...]:
    """OTLP is the spec's default, but only once an endpoint is named: a CLI run on a laptop must not
    spend its time failing to reach localhost:4317."""
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    has_endpoint = bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"))
    raw = env.get(variable, "").strip() or ("otlp" if has_endpoint else "none")
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    for name in names:
        if name not in EXPORTERS:
            raise TelemetryConfigError(f"{variable}: each name must be one of {', '.join(EXPORTERS)}; got {name!r}")
    return tuple(n for n in names if n != "none")


def _protocol(env: Mapping[str, str], signal: str) -> str:
    for variable in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = env.get(variable, "").strip()
        if value:
            if value not in PROTOCOLS:
                raise TelemetryConfigError(f"{variable}: one of {', '.join(PROTOCOLS)}; got {value!r}")
            return value
    return "http/protobuf"  # the spec's default
