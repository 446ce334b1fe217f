"""The harness's side of spans: the shape of a run's traces and of a client call's span. It imports only `telemetry`."""
