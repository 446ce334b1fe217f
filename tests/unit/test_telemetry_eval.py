"""An eval run's traces, read back from in-memory exporters and from the store: a run span, and a trace
per example, linked to it, with its generation, its judge's call and each scorer beneath, every score a
`gen_ai.evaluation.result` event on the generation it judges, and every result keeping its ids."""

from __future__ import annotations

from pathlib import Path

import duckdb
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from engine.engine import Engine
from evals.analysis.report import build_summary
from evals.cli.run import make_judges
from evals.golden.dataset import load_golden_set
from evals.golden.subset import Subset
from evals.judges.in_runs import judge_answers
from evals.run.engine_backend import EngineBackend
from evals.run.record import new_run_id, run_record
from evals.run.runner import RunTarget, execute
from evals.run.suite import load_suite
from evals.settings import Settings
from evals.store.results import create_run, finish_run
from evals.store.store import Store
from evals.tracing.run import RunTracing
from telemetry.sinks import SpanRowBuffer
from tests.eval_files import examples, write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply
from tests.telemetry_helpers import MemoryTelemetry

JUDGE = Path(__file__).resolve().parents[2] / "datasets" / "judges" / "correctness-v1.yaml"


def grader(body: dict, call: int) -> Reply:
    return Reply(['{"rationale": "fine", "scores": {"correct": 1, "on_topic": 0}, "overall": 1}'])


def hex_ids(span) -> tuple[str, str]:
    return format_trace_id(span.context.trace_id), format_span_id(span.context.span_id)


def test_one_trace_shows_an_example_end_to_end(tmp_path: Path, tiny_gguf: Path) -> None:
    memory, rows = MemoryTelemetry(), SpanRowBuffer()
    memory.tel.tracer_provider.add_span_processor(SimpleSpanProcessor(rows))
    golden_path = write_jsonl(tmp_path / "golden.jsonl", examples(4))
    store = Store(tmp_path / "gg.duckdb")
    with OpenAIStub(grader) as stub:
        judge = {"prompt": str(JUDGE), "endpoint": {"url": stub.url, "model": "grader"}}
        suite = load_suite(write_suite(tmp_path / "suite.yaml", golden_path, tiny_gguf, judges=[judge]))
        golden = load_golden_set(suite.dataset)
        engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, telemetry=memory.tel)
        backend = EngineBackend(engine, suite.sampling)
        judges = make_judges(suite, backend, store, Settings.from_env({}), memory.tel)
        run_id = new_run_id(suite.name)
        create_run(store, run_record(run_id, suite, golden, len(golden), Subset(), tag=None, model_id=backend.model_id,
                                     model_digest=backend.model_digest, endpoint=None))
        tracing = RunTracing(memory.tel, rows, run_id=run_id, suite=suite.name, dataset_sha256=golden.sha256,
                             model=backend.model_id, prompt_sha256=suite.prompt.sha256)
        execute(store, RunTarget(run_id, suite, golden, golden.examples, suite.build_scorers(), backend, tracing))
        judge_answers(store, run_id, judges, {ex.id: ex for ex in golden.examples}, tracing)
        tracing.end()
        finish_run(store, run_id, build_summary(store, run_id), tracing.drain())
        sent_traceparents = list(stub.traceparents)

    spans = memory.finished()
    (run,) = [s for s in spans if s.name == "eval t"]
    assert run.parent is None and run.attributes["goldgate.run.id"] == run_id
    example_spans = {s.attributes["goldgate.example.id"]: s for s in spans if s.name.startswith("eval_example ")}
    assert sorted(example_spans) == [f"ex-{i}" for i in range(4)]
    for s in example_spans.values():  # each the root of its own trace, linked to the run span
        assert s.parent is None and s.context.trace_id != run.context.trace_id
        assert [link.context.span_id for link in s.links] == [run.context.span_id]
        assert s.attributes["goldgate.run.id"] == run_id
    assert len({s.context.trace_id for s in example_spans.values()}) == len(example_spans)

    with duckdb.connect(str(store.path), read_only=True) as con:
        results = {r[0]: r[1:] for r in con.execute(
            "SELECT example_id, trace_id, span_id, generation_span_id FROM results WHERE run_id = ?", [run_id]).fetchall()}
        stored = con.execute("SELECT trace_id, span_id, kind, run_id FROM spans").fetchall()
        scored = con.execute("SELECT example_id, list(scorer) FROM scores WHERE run_id = ? GROUP BY ALL",
                             [run_id]).fetchall()
    scored = {e: set(names) for e, names in scored}
    assert sorted((t, s) for t, s, *_ in stored) == sorted(hex_ids(s) for s in spans)  # every span, in the store

    events = memory.evaluation_events()
    judged = [e for e in events if e.attributes["gen_ai.evaluation.name"].startswith("correctness-v1@grader/")]
    assert len(judged) == 4 * 3  # correct, on_topic and overall for each answer
    assert len(events) == sum(map(len, scored.values()))  # every stored score, a scorer's or a judge's, is an event
    for example_id, example in example_spans.items():
        beneath = [s for s in spans if s.parent and s.parent.span_id == example.context.span_id]
        (generation,) = [s for s in beneath if s.kind == SpanKind.INTERNAL and s.name == f"chat {engine.model_id}"]
        (judge_call,) = [s for s in beneath if s.kind == SpanKind.CLIENT]
        evaluations = [s for s in beneath if s.name.startswith("evaluate ")]
        scorers = [s for s in evaluations if "@" not in s.name]
        assert generation.attributes["goldgate.example.id"] == example_id == judge_call.attributes["goldgate.example.id"]
        assert judge_call.name == "chat grader" and judge_call.attributes["gen_ai.provider.name"] == "openai"
        assert generation.attributes["goldgate.prompt.sha256"] == suite.prompt.sha256  # which template made it
        assert judge_call.attributes["goldgate.prompt.sha256"] == judges[0].prompt.sha256 != suite.prompt.sha256
        assert f"-{format_span_id(judge_call.context.span_id)}-" in " ".join(sent_traceparents)  # sent on the wire
        assert {s.attributes["gen_ai.evaluation.name"] for s in scorers} == {n for n in scored[example_id] if "@" not in n}
        assert len(evaluations) == len(scorers) + 3
        trace_id, span_id, generation_span_id = results[example_id]
        assert (trace_id, span_id) == hex_ids(example)
        assert generation_span_id == hex_ids(generation)[1]
        on_generation = [e for e in events if e.span_id == generation.context.span_id]
        assert len(on_generation) == len(evaluations)  # each scorer's, and the judge's three dimensions
        assert all(e.trace_id == generation.context.trace_id for e in on_generation)
        for scorer in scorers:
            value = scorer.attributes["gen_ai.evaluation.score.value"]
            assert scorer.attributes.get("gen_ai.evaluation.score.label") == {1.0: "pass", 0.0: "fail"}.get(value)
