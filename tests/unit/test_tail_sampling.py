"""Tail sampling through a real tracer provider: planted traces (errors, a slow tail, costly and failed
ones, healthy ones) go in, and what the sinks behind the sampler receive is counted against the plant."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
from opentelemetry.trace import Status, StatusCode, set_span_in_context
from pydantic import ValidationError

from evals.cli import main
from evals.run.sampling import load_sampling_policy
from evals.store.spans import write_spans
from evals.store.store import Store
from telemetry import configure
from telemetry.messages import INFERENCE_DETAILS_EVENT
from telemetry.sinks import SpanRowBuffer
from telemetry.tail_policy import SamplingPolicy
from telemetry.tail_sampler import SAMPLE_WEIGHT, SAMPLED_BY, TailSamplingProcessor
from tests.cli_helpers import assert_one_line_error, run_cli

REPO = Path(__file__).resolve().parents[2]
T0 = 1_800_000_000 * 10**9


class SeededIds(RandomIdGenerator):
    """Trace ids from a seeded generator: the baseline draw is fixed by the trace id, so a seeded plant
    gives the same kept share on every machine."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def generate_trace_id(self) -> int:
        return self.rng.getrandbits(128)

    def generate_span_id(self) -> int:
        return self.rng.getrandbits(64)


def _policy(*policies: dict, **extras) -> SamplingPolicy:
    return SamplingPolicy.model_validate({"decision_wait": "1h", "policies": list(policies), "goldgate": extras})


ERRORS = {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}
SLOW = {"name": "slow", "type": "latency", "latency": {"threshold_ms": 5000}}
BASELINE = {"name": "baseline", "type": "probabilistic", "probabilistic": {"sampling_percentage": 5}}


class Sampled:
    """A tracer provider whose only span processor is the sampler, in front of an in-memory exporter."""

    def __init__(self, policy: SamplingPolicy, seed: int = 7) -> None:
        self.exported = InMemorySpanExporter()
        self.sampler = TailSamplingProcessor(policy, [SimpleSpanProcessor(self.exported)])
        self.provider = TracerProvider(id_generator=SeededIds(seed))
        self.provider.add_span_processor(self.sampler)
        self.tracer = self.provider.get_tracer("test")

    def trace(self, i: int, *, duration_s: float = 0.2, error: bool = False, child_attrs: dict | None = None,
              end_root: bool = True, events: tuple[str, ...] = ()) -> int:
        """A request: a root span and one generation beneath it; returns the trace id."""
        start = T0 + i * 10**10
        root = self.tracer.start_span(f"request {i}", context=Context(), start_time=start)
        child = self.tracer.start_span("chat m", context=set_span_in_context(root), start_time=start,
                                       attributes=child_attrs or {})
        for name in events:
            child.add_event(name, {"gen_ai.input.messages": "[]"})
        if error:
            child.set_status(Status(StatusCode.ERROR))
        child.end(end_time=start + int(duration_s * 1e9) - 1000)
        if end_root:
            root.end(end_time=start + int(duration_s * 1e9))
        return root.get_span_context().trace_id

    def kept_traces(self) -> set[int]:
        return {s.context.trace_id for s in self.exported.get_finished_spans()}

    def roots(self) -> dict[int, object]:
        return {s.context.trace_id: s for s in self.exported.get_finished_spans() if s.parent is None}


def test_keeps_every_error_and_slow_trace_and_the_baseline_share_of_the_rest() -> None:
    """1,000 planted traces: 2% errors, a 3% slow tail over the 5 s threshold, the rest healthy."""
    rng, s = random.Random(3), Sampled(_policy(ERRORS, SLOW, BASELINE))
    kinds = ["error"] * 20 + ["slow"] * 30 + ["healthy"] * 950
    rng.shuffle(kinds)
    planted = {kind: [] for kind in ("error", "slow", "healthy")}
    for i, kind in enumerate(kinds):
        duration = rng.uniform(5.5, 20) if kind == "slow" else rng.uniform(0.05, 2)
        planted[kind].append(s.trace(i, duration_s=duration, error=kind == "error"))
    kept = s.kept_traces()

    assert set(planted["error"]) <= kept and set(planted["slow"]) <= kept
    healthy_share = len(kept & set(planted["healthy"])) / len(planted["healthy"])
    assert 0.03 <= healthy_share <= 0.07, healthy_share
    assert (s.sampler.kept, s.sampler.dropped) == (len(kept), 1000 - len(kept))
    roots = s.roots()
    assert {roots[t].attributes[SAMPLE_WEIGHT] for t in planted["error"] + planted["slow"]} == {1.0}
    baseline_only = kept & set(planted["healthy"])
    assert {roots[t].attributes[SAMPLE_WEIGHT] for t in baseline_only} == {100 / 5}
    assert all(list(roots[t].attributes[SAMPLED_BY]) == ["baseline"] for t in baseline_only)
    assert "errors" in roots[planted["error"][0]].attributes[SAMPLED_BY]
    assert all(s.attributes[SAMPLE_WEIGHT] == roots[s.context.trace_id].attributes[SAMPLE_WEIGHT]
               for s in s.exported.get_finished_spans())  # every span of a trace carries its weight


def test_the_slow_tail_is_judged_against_the_recent_traces() -> None:
    """No fixed threshold: traces ten times the usual duration, planted after the window has filled,
    are kept by the percentile rule alone; about 5% of the usual ones are over the p95 too."""
    rng, s = random.Random(5), Sampled(_policy(ERRORS, slow_tail={"percentile": 95, "window": 500, "min_traces": 200}))
    slow, usual = [], []
    for i in range(1500):
        is_slow = i >= 300 and rng.random() < 0.02
        (slow if is_slow else usual).append(s.trace(i, duration_s=rng.uniform(0.1, 1.0) * (10 if is_slow else 1)))
    kept = s.kept_traces()

    assert slow and set(slow) <= kept
    assert 0.02 <= len(kept & set(usual)) / len(usual) <= 0.07
    assert all("goldgate.slow_tail" in s.roots()[t].attributes[SAMPLED_BY] for t in slow)


def test_cost_and_failed_evaluation_rules() -> None:
    policy = _policy({"name": "expensive", "type": "ottl_condition",
                      "ottl_condition": {"span": ['attributes["goldgate.usage.cost"] > 0.01']}},
                     {"name": "failed", "type": "string_attribute",
                      "string_attribute": {"key": g.GEN_AI_EVALUATION_SCORE_LABEL, "values": ["fail"]}},
                     {"name": "big", "type": "numeric_attribute",
                      "numeric_attribute": {"key": g.GEN_AI_USAGE_OUTPUT_TOKENS, "min_value": 1000}})
    s = Sampled(policy)
    costly = s.trace(0, child_attrs={"goldgate.usage.cost": 0.02})
    cheap = s.trace(1, child_attrs={"goldgate.usage.cost": 0.005})
    failed = s.trace(2, child_attrs={g.GEN_AI_EVALUATION_SCORE_LABEL: "fail"})
    passed = s.trace(3, child_attrs={g.GEN_AI_EVALUATION_SCORE_LABEL: "pass"})
    long = s.trace(4, child_attrs={g.GEN_AI_USAGE_OUTPUT_TOKENS: 1500})
    float_tokens = s.trace(5, child_attrs={g.GEN_AI_USAGE_OUTPUT_TOKENS: 1500.0})  # the Collector's int rule
    assert s.kept_traces() == {costly, failed, long}
    assert {cheap, passed, float_tokens}.isdisjoint(s.kept_traces())


def test_content_is_kept_at_its_own_rate() -> None:
    """Content attributes and the content event go from kept traces whose content was not sampled; the
    spans themselves stay."""
    content = {g.GEN_AI_INPUT_MESSAGES: "[]", g.GEN_AI_OUTPUT_MESSAGES: "[]", "gen_ai.usage.cost": 0.1}
    for rate, expect_content in ((0, False), (100, True)):
        s = Sampled(_policy({"name": "all", "type": "always_sample"}, content_sampling_percentage=rate))
        s.trace(0, child_attrs=content, events=(INFERENCE_DETAILS_EVENT, "other"))
        child = next(x for x in s.exported.get_finished_spans() if x.parent is not None)
        assert (g.GEN_AI_INPUT_MESSAGES in child.attributes) is expect_content
        assert ([e.name for e in child.events] == [INFERENCE_DETAILS_EVENT, "other"]) is expect_content
        assert "other" in [e.name for e in child.events] and "gen_ai.usage.cost" in child.attributes
    s = Sampled(_policy({"name": "all", "type": "always_sample"}, content_sampling_percentage=30))
    for i in range(400):
        s.trace(i, child_attrs=content)
    with_content = sum(g.GEN_AI_INPUT_MESSAGES in x.attributes for x in s.exported.get_finished_spans())
    assert 0.22 <= with_content / 400 <= 0.38


def test_late_spans_follow_their_traces_decision_and_open_traces_are_decided_at_flush() -> None:
    s = Sampled(_policy(ERRORS))
    late_ids = {}
    for failed in (True, False):
        root = s.tracer.start_span("request", context=Context())
        late = s.tracer.start_span("late", context=set_span_in_context(root))  # ends after its root
        if failed:
            root.set_status(Status(StatusCode.ERROR))
        root.end()
        late.end()
        late_ids[failed] = root.get_span_context().trace_id
    names = {t: [x.name for x in s.exported.get_finished_spans() if x.context.trace_id == t] for t in late_ids.values()}
    assert names[late_ids[True]] == ["request", "late"] and names[late_ids[False]] == []

    open_trace = s.trace(2, error=True, end_root=False)
    assert open_trace not in s.kept_traces()  # held: its root has not ended
    s.provider.force_flush()
    assert open_trace in s.kept_traces()


def test_held_traces_are_bounded() -> None:
    """Beyond num_traces held at once, the oldest is decided with the spans it has."""
    policy = SamplingPolicy.model_validate({"num_traces": 3, "policies": [ERRORS]})
    s = Sampled(policy)
    first = s.trace(0, error=True, end_root=False)
    for i in range(1, 4):
        s.trace(i, end_root=False)
    assert first in s.kept_traces()  # decided early, on its error, when the fourth arrived
    assert len(s.sampler._held) == 3


def test_sampling_through_configure_reaches_the_store_with_weights(tmp_path: Path) -> None:
    """The real set-up path: configure(sampling=...) puts the sampler in front of the store's span rows;
    the stored weights make the SLO's request count an estimate of all the traffic."""
    rows = SpanRowBuffer()
    tel = configure(env={}, span_rows=rows, sampling=_policy(ERRORS, BASELINE), prometheus=True)
    for i in range(200):
        span = tel.tracer.start_span(f"request {i}", context=Context())
        if i % 50 == 0:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
    counted = {sample.labels["goldgate_sampling_decision"]: sample.value for family in tel.prometheus_registry.collect()
               for sample in family.samples if sample.name == "goldgate_sampling_traces_total"}
    tel.shutdown()
    records = rows.drain()
    store = Store(tmp_path / "gg.duckdb")
    write_spans(store, records)
    with store.read() as con:
        stored = con.execute("SELECT count(*), count(*) FILTER (WHERE status_code = 'ERROR'), "
                             "sum(sample_weight) FILTER (WHERE status_code = 'ERROR') FROM spans").fetchone()
    assert stored == (len(records), 4, 4.0)
    assert len(records) < 200 and all(r.sample_weight in (1.0, 20.0) for r in records)
    assert counted == {"kept": len(records), "dropped": 200 - len(records)}  # on /metrics: one span a trace here


@pytest.mark.parametrize("policy, problem", [
    ({"policies": [{"name": "r", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 5}}]}, "type"),
    ({"policies": [{"name": "x", "type": "latency", "status_code": {"status_codes": ["ERROR"]}}]}, "latency"),
    ({"policies": [{"name": "x", "type": "ottl_condition",
                    "ottl_condition": {"span": ['IsMatch(name, "chat.*")']}}]}, "attributes"),
    ({"policies": [BASELINE, {**BASELINE, "name": "b2"}]}, "one probabilistic"),
    ({"policies": [ERRORS, ERRORS]}, "unique"),
    ({"decision_wait": "soon", "policies": [ERRORS]}, "duration"),
    ({"policies": []}, "policies"),
])
def test_bad_policies_are_refused_naming_the_problem(policy: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        SamplingPolicy.model_validate(policy)


def test_bad_policy_file_on_the_cli_is_exit_2_naming_file_and_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"policies": [ERRORS, {"name": "p", "type": "probabilistic",
                                                          "probabilistic": {"sampling_percentage": 150}}]}))
    code, _, err = run_cli(capsys, "sampling", "collector-config", "--policy", str(path))
    assert_one_line_error(code, err, f"{path}:9:", "policies.1.probabilistic.sampling_percentage")


def test_the_shipped_collector_config_applies_the_shipped_policy(capsys) -> None:
    """deploy/otel-collector/config.yaml is what `goldgate sampling collector-config` makes of
    deploy/sampling/policy.yaml, and its tail_sampling block reads back as the same policies."""
    policy_path = "deploy/sampling/policy.yaml"
    assert main(["sampling", "collector-config", "--policy", policy_path]) == 0
    printed = capsys.readouterr().out
    assert printed == (REPO / "deploy/otel-collector/config.yaml").read_text()
    block = yaml.safe_load(printed)["processors"]["tail_sampling"]
    policy = load_sampling_policy(REPO / policy_path)
    assert SamplingPolicy.model_validate(block).policies == policy.policies
    assert "goldgate" not in block and "slow_tail" in printed.splitlines()[1]  # named as not applied
