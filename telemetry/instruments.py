"""The metric instruments, created once per meter with the GenAI conventions' names, units and
recommended bucket boundaries (the semconv helpers create histograms without them)."""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as m
from opentelemetry.semconv.metrics import http_metrics

DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)  # HTTP semconv's
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)

ERROR_CLASSES = ("api", "validation", "guardrail")  # separate counters: they page different people

# An engine's state, read at collection time, keyed as SATURATION_GAUGES and SATURATION_COUNTERS
SaturationSource = Callable[[], Mapping[str, float]]

SATURATION_GAUGES = (  # names chosen so that Prometheus sees goldgate_engine_requests_running and so on
    ("requests.running", "{request}", "Requests in the running batch"),
    ("requests.waiting", "{request}", "Requests waiting to be scheduled"),
    ("kv_blocks.used", "{block}", "KV cache blocks held by requests"),
    ("kv_blocks.free", "{block}", "KV cache blocks free"),
    ("kv_blocks.cached", "{block}", "Free KV cache blocks still holding a prefix a request can reuse"),
    ("kv_cache.usage", "1", "Share of KV cache blocks in use"),
)
SATURATION_COUNTERS = (  # the prefix cache's hit rate is rate(..._hits_total) / rate(..._queries_total)
    ("preemptions", "{preemption}", "Requests preempted for KV blocks and recomputed"),
    ("prefix_cache.queries", "{token}", "Prompt tokens of admitted requests, looked up in the prefix cache"),
    ("prefix_cache.hits", "{token}", "Prompt tokens found in the prefix cache instead of computed"),
)


class Instruments:
    def __init__(self, meter: Meter) -> None:
        self.token_usage = _histogram(meter, m.GEN_AI_CLIENT_TOKEN_USAGE, "{token}",
                                      "Number of input and output tokens used", TOKEN_BUCKETS)
        self.operation_duration = _histogram(meter, m.GEN_AI_CLIENT_OPERATION_DURATION, "s",
                                             "GenAI operation duration", DURATION_BUCKETS)
        self.request_duration = _histogram(meter, m.GEN_AI_SERVER_REQUEST_DURATION, "s",
                                           "Generative AI server request duration", DURATION_BUCKETS)
        self.time_to_first_token = _histogram(meter, m.GEN_AI_SERVER_TIME_TO_FIRST_TOKEN, "s",
                                              "Time to generate first token", TTFT_BUCKETS)
        self.time_per_output_token = _histogram(meter, m.GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN, "s",
                                                "Time per output token generated after the first token", TPOT_BUCKETS)
        self.errors = {c: meter.create_counter(f"goldgate.errors.{c}", unit="{error}",
                                               description=f"Requests that ended in a {c} error") for c in ERROR_CLASSES}
        self.cost = meter.create_counter("goldgate.usage.cost", unit="{cost}",
                                         description="What generations cost, in the price table's currency")
        self.http_duration = _histogram(meter, http_metrics.HTTP_SERVER_REQUEST_DURATION, "s",
                                        "Duration of HTTP server requests", HTTP_BUCKETS)
        self.sampled_traces = meter.create_counter("goldgate.sampling.traces", unit="{trace}",
                                                   description="Traces the tail sampler decided, by its decision")
        self._saturation: list[tuple[str, SaturationSource]] = []
        for key, unit, description in SATURATION_GAUGES:
            meter.create_observable_gauge(f"goldgate.engine.{key}", callbacks=[self._observer(key)], unit=unit,
                                          description=description)
        for key, unit, description in SATURATION_COUNTERS:
            meter.create_observable_counter(f"goldgate.engine.{key}", callbacks=[self._observer(key)], unit=unit,
                                            description=description)

    def watch_saturation(self, model: str, source: SaturationSource) -> None:
        """Report `source` as the saturation instruments of `model` from now on."""
        self._saturation.append((model, source))

    def _observer(self, key: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(source()[key], {"gen_ai.request.model": model}) for model, source in self._saturation]
        return observe


def _histogram(meter: Meter, name: str, unit: str, description: str, buckets: tuple[float, ...]) -> Histogram:
    return meter.create_histogram(name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets)
