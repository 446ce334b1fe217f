"""`--sampling FILE`: a tail-sampling policy in the OpenTelemetry Collector's `tail_sampling` shape, read
before anything loads, and the same policy as a Collector config for teams that export OTLP to one."""

from __future__ import annotations

from pathlib import Path

import yaml

from evals.yaml_input import load_yaml_model
from telemetry.tail_policy import SamplingPolicy

OTLP_PORTS = {"grpc": 4317, "http": 4318}


def load_sampling_policy(path: str | Path) -> SamplingPolicy:
    return load_yaml_model(path, SamplingPolicy, what="sampling policy")[0]


def collector_config_yaml(policy: SamplingPolicy, source: str, *, backend: str = "${env:BACKEND_OTLP_ENDPOINT}") -> str:
    """A Collector config that receives OTLP, tail-samples by `policy` and sends what it keeps to
    `backend` over OTLP/HTTP. goldgate's own extras have no Collector equivalent and are named, not lost
    silently: the slow tail needs a fixed `latency` threshold there, and content a `transform` processor."""
    config = {
        "receivers": {"otlp": {"protocols": {p: {"endpoint": f"0.0.0.0:{port}"} for p, port in OTLP_PORTS.items()}}},
        "processors": {"tail_sampling": policy.collector_block(), "batch": {}},
        "exporters": {"otlphttp": {"endpoint": backend}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["tail_sampling", "batch"],
                                             "exporters": ["otlphttp"]}}},
    }
    extras = policy.goldgate
    left = ([f"slow_tail (p{extras.slow_tail.percentile:g} of the last {extras.slow_tail.window} traces)"]
            if extras.slow_tail else []) + \
        ([f"content_sampling_percentage ({extras.content_sampling_percentage:g}%)"]
         if extras.content_sampling_percentage < 100 else [])
    header = f"# The OpenTelemetry Collector's tail sampling by {source} (goldgate sampling collector-config).\n"
    if left:
        header += f"# goldgate-only, not applied here: {'; '.join(left)}.\n"
    return header + yaml.safe_dump(config, sort_keys=False)
