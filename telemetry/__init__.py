"""The one package that knows OpenTelemetry (filled by the telemetry issue); it imports no sibling."""
