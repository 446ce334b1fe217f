"""`goldgate run SUITE.yaml` (and `--resume RUN_ID`): generate, score, store, report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.backends import Backend, EndpointBackend, EngineBackend
from evals.cli_generate import DTYPES
from evals.dataset import load_golden_set
from evals.errors import EvalInputError
from evals.judges.in_runs import judge_answers, judge_record
from evals.judges.judge import JUDGE_SAMPLING, Judge
from evals.judges.spec import load_judge_prompt
from evals.progress import RunProgress
from evals.report import build_summary
from evals.report_print import print_report
from evals.run_record import new_run_id, run_record
from evals.run_tracing import RunTracing
from evals.runner import RunTarget, create_run, execute, finish_run, select_examples
from evals.store.store import Store, default_store_path
from evals.suite import EndpointConfig, EngineConfig, JudgeConfig, Suite, load_suite
from evals.telemetry_setup import configure_telemetry
from telemetry import Telemetry
from telemetry import shutdown as shutdown_telemetry
from telemetry.sinks import SpanRowBuffer


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("run", help="run a suite: generate, score, store and report")
    p.add_argument("suite", nargs="?", help="the suite file (YAML); not with --resume")
    p.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run from the store")
    p.add_argument("--db", type=Path, default=default_store_path(), help="the DuckDB store (default: %(default)s)")
    p.add_argument("--model", help="the model to run: a known name, GGUF file or folder; with --endpoint, its model name")
    p.add_argument("--endpoint", metavar="URL", help="an OpenAI-compatible base URL (e.g. http://host:8000/v1)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N examples")
    p.add_argument("--tag", help="a name for the run (e.g. baseline, candidate)")
    p.add_argument("--spans-jsonl", type=Path, metavar="PATH", help="also append every span to this file as JSON lines")
    p.add_argument("--json", type=Path, metavar="PATH", help="where to write the JSON summary "
                   "(default: runs/RUN_ID.json beside the store)")
    p.set_defaults(handler=run)


def suite_from_args(args: argparse.Namespace) -> tuple[Suite, int | None]:
    if args.limit is not None and args.limit < 1:
        raise EvalInputError("must be a positive number of examples", field="--limit")
    if args.resume:
        if args.suite or args.model or args.endpoint or args.limit:
            raise EvalInputError("takes no suite, --model, --endpoint or --limit: the stored run fixes them",
                                 field="--resume")
        settings = Store(args.db).run_record(args.resume)["settings"]
        return Suite.model_validate(settings["suite"]), settings["limit"]
    if not args.suite:
        raise EvalInputError("give a suite file, or --resume RUN_ID", field="suite")
    suite = load_suite(args.suite)
    if args.endpoint:
        if not args.model:
            raise EvalInputError("needs --model, the model name the endpoint serves", field="--endpoint")
        suite = suite.model_copy(update={"endpoint": EndpointConfig(url=args.endpoint, model=args.model), "model": None})
    elif args.model:
        suite = suite.model_copy(update={"model": args.model, "endpoint": None})
    return suite, args.limit


def load_engine(model: str | None, engine: EngineConfig, max_batch_size: int, tel: Telemetry | None = None):
    import torch

    from engine import Engine
    from evals.cli_models import pull_with_progress

    if engine.dtype != "auto" and engine.dtype not in DTYPES:
        raise EvalInputError(f"one of auto, {', '.join(DTYPES)}; got {engine.dtype!r}", field="engine.dtype")
    device = None if engine.device == "auto" else torch.device(engine.device)
    dtype = None if engine.dtype == "auto" else DTYPES[engine.dtype]
    return Engine.load(Path(pull_with_progress(model)), device=device, dtype=dtype, max_batch_size=max_batch_size,
                       telemetry=tel)


def make_backend(suite: Suite, tel: Telemetry | None = None) -> Backend:
    if suite.endpoint is not None:
        return EndpointBackend(suite.endpoint, suite.sampling, suite.concurrency, suite.timeout_s, tel)
    engine = load_engine(suite.model, suite.engine, suite.concurrency, tel)
    return EngineBackend(engine, suite.sampling, group_size=min(8, suite.concurrency))


def make_judges(suite: Suite, backend: Backend, store: Store,
                tel: Telemetry | None = None) -> list[tuple[Judge, JudgeConfig]]:
    """The suite's judges; one on the suite's own local model shares its loaded engine."""
    judges = []
    for i, config in enumerate(suite.judges):
        prompt = load_judge_prompt(config.prompt)
        if prompt.spec.mode != "pointwise":
            raise EvalInputError("a suite judge scores each answer: it must be pointwise", file=config.prompt,
                                 field="mode")
        if config.endpoint is not None:
            judge_backend = EndpointBackend(config.endpoint, JUDGE_SAMPLING, suite.concurrency, suite.timeout_s, tel)
        elif isinstance(backend, EngineBackend) and config.model in (None, suite.model):
            judge_backend = EngineBackend(backend.engine, JUDGE_SAMPLING)
        elif config.model is None:
            raise EvalInputError("name the judge's model or endpoint (the suite's model is remote)",
                                 field=f"judges.{i}")
        else:
            judge_backend = EngineBackend(load_engine(config.model, suite.engine, suite.concurrency, tel),
                                          JUDGE_SAMPLING)
        judges.append((Judge(prompt, judge_backend, with_reference=config.reference, store=store), config))
    return judges


def run(args: argparse.Namespace) -> int:
    """Spans go to the store beside the results (and to any OTLP collector the environment names)."""
    rows = SpanRowBuffer()
    tel = configure_telemetry(service_name="goldgate-run", span_rows=rows, jsonl_path=args.spans_jsonl)
    try:
        return _run(args, tel, rows)
    finally:
        shutdown_telemetry()


def _run(args: argparse.Namespace, tel: Telemetry, rows: SpanRowBuffer) -> int:
    store = Store(args.db)
    suite, limit = suite_from_args(args)
    golden = load_golden_set(suite.dataset)  # every line checked before anything is generated or stored
    examples = select_examples(golden, limit)
    scorers = suite.build_scorers()
    backend = make_backend(suite, tel)
    judges = make_judges(suite, backend, store, tel)
    if args.resume:
        run_id = args.resume
        _check_unchanged(store.run_record(run_id), golden.sha256, backend)
    else:
        run_id = new_run_id(suite.name)
        create_run(store, run_record(run_id, suite, golden, len(examples), limit, tag=args.tag,
                                     model_id=backend.model_id, model_digest=backend.model_digest,
                                     endpoint=backend.endpoint,
                                     judges=[judge_record(j, c.min_kappa, store) for j, c in judges]))
    tracing = RunTracing(tel, rows, run_id=run_id, suite=suite.name, dataset_sha256=golden.sha256,
                         model=backend.model_id)
    target = RunTarget(run_id, suite, golden, examples, scorers, backend, tracing)
    with RunProgress(len(examples) * suite.epochs, run_id, done=len(store.done_keys(run_id))) as progress:
        execute(store, target, progress)
    judge_answers(store, run_id, [j for j, _ in judges], {ex.id: ex for ex in examples}, tracing)
    tracing.end()
    summary = build_summary(store, run_id)
    finish_run(store, run_id, summary, tracing.drain())
    out = args.json or args.db.parent / "runs" / f"{run_id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print_report(summary)
    print(f"stored in {args.db}; summary in {out}")
    return 0


def _check_unchanged(record: dict, dataset_sha: str, backend: Backend) -> None:
    if record["dataset_sha256"] != dataset_sha:
        raise EvalInputError(f"the golden set changed since the run started (sha256 {record['dataset_sha256'][:12]} "
                             f"then, {dataset_sha[:12]} now); start a new run", file=record["dataset_path"])
    if record["model_digest"] != backend.model_digest:
        raise EvalInputError("the model's weights changed since the run started; start a new run", field="--resume")
