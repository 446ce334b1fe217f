"""The engine's own state for Prometheus: read at scrape time, so the numbers are never stale.
(The GenAI request metrics join this registry from telemetry/.)"""

from __future__ import annotations

from typing import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.core import EngineStats


class EngineCollector(Collector):
    def __init__(self, stats: Callable[[], EngineStats], model: str) -> None:
        self._stats, self._model = stats, model

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        s = self._stats()
        gauges = [
            ("goldgate_engine_requests_running", "Requests in the running batch", s.running),
            ("goldgate_engine_requests_waiting", "Requests waiting to be scheduled", s.waiting),
            ("goldgate_engine_kv_blocks_used", "KV cache blocks held by requests", s.kv_blocks_used),
            ("goldgate_engine_kv_blocks_free", "KV cache blocks free", s.kv_blocks_free),
            ("goldgate_engine_kv_cache_usage_ratio", "Share of KV cache blocks in use",
             s.kv_blocks_used / max(s.kv_blocks_used + s.kv_blocks_free, 1)),
        ]
        for name, doc, value in gauges:
            family = GaugeMetricFamily(name, doc, labels=["model"])
            family.add_metric([self._model], value)
            yield family
        preempted = CounterMetricFamily("goldgate_engine_preemptions", "Requests preempted for KV blocks and recomputed",
                                        labels=["model"])
        preempted.add_metric([self._model], s.preemptions_total)
        yield preempted


def engine_registry(stats: Callable[[], EngineStats], model: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(EngineCollector(stats, model))
    return registry
