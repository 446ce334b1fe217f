"""`goldgate run SUITE.yaml` (and `--resume RUN_ID`): generate, score, store, report."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from evals.cli.common import add_db_option, configure_telemetry, endpoint_from_flags, load_engine
from evals.errors import EvalInputError
from evals.settings import Settings

if TYPE_CHECKING:
    from engine.engine import Engine
    from evals.golden.subset import Subset
    from evals.judges.judge import Judge
    from evals.run.suite import Suite
    from evals.run.work import Backend
    from evals.store.store import Store
    from telemetry import Telemetry
    from telemetry.prices import PriceTable
    from telemetry.sinks import SpanRowBuffer


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("run", help="run a suite: generate, score, store and report")
    p.add_argument("suite", nargs="?", help="the suite file (YAML); not with --resume")
    p.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run from the store")
    add_db_option(p, settings)
    p.add_argument("--model", help="the model to run: a known name, GGUF file or folder; with --endpoint, its model name")
    p.add_argument("--endpoint", metavar="URL", help="an OpenAI-compatible base URL (e.g. http://host:8000/v1), "
                   "or replicas of one model, comma-separated")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N examples")
    p.add_argument("--sample", type=int, metavar="N", help="a reproducible random sample of N examples")
    p.add_argument("--stratify", metavar="KEY", help="with --sample: keep the proportions of this label's slices")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="with --sample: the sample's seed (default 0)")
    p.add_argument("--ray", metavar="ADDRESS", help="spread the examples over a Ray cluster (its address, or auto); "
                   "needs the ray extra")
    p.add_argument("--tag", help="a name for the run (e.g. baseline, candidate)")
    p.add_argument("--prices", type=Path, metavar="FILE", help="a price table (YAML) to cost every answer and judge "
                   "call by; it must price each model the run calls")
    p.add_argument("--spans-jsonl", type=Path, metavar="PATH", help="also append every span to this file as JSON lines")
    p.add_argument("--json", type=Path, metavar="PATH", help="where to write the JSON summary "
                   "(default: runs/RUN_ID.json beside the store)")
    p.set_defaults(handler=handle)


def suite_from_args(args: argparse.Namespace, store: Store) -> tuple[Suite, Subset]:
    from evals.golden.subset import Subset
    from evals.run.suite import Suite, load_suite

    subset = Subset(args.limit, args.sample, args.stratify, args.seed)
    if args.resume:
        if args.suite or args.model or args.endpoint or args.prices or subset != Subset():
            raise EvalInputError("takes no suite, --model, --endpoint, --prices, --limit or --sample: the stored run "
                                 "fixes them", field="--resume")
        settings = store.run_record(args.resume)["settings"]
        return Suite.model_validate(settings["suite"]), Subset.from_settings(settings)
    if not args.suite:
        raise EvalInputError("give a suite file, or --resume RUN_ID", field="suite")
    suite = load_suite(args.suite)
    if args.endpoint:
        suite = suite.model_copy(update={"endpoint": endpoint_from_flags(args.endpoint, args.model), "model": None})
    elif args.model:
        suite = suite.model_copy(update={"model": args.model, "endpoint": None})
    return suite, subset


def run_backend(args: argparse.Namespace, suite: Suite, settings: Settings, tel: Telemetry,
                rows: SpanRowBuffer) -> Backend:
    """The suite's backend here, or with `--ray` one in each actor of the cluster."""
    if args.ray is None:
        return make_backend(suite, settings, tel)
    from evals.run.ray_backend import RayBackend

    return RayBackend(args.ray, functools.partial(worker_backend, suite, settings), on_engine=suite.endpoint is None,
                      span_rows=rows)


def worker_backend(suite: Suite, settings: Settings, rows: SpanRowBuffer) -> Backend:
    """A Ray actor's backend: its spans go to `rows`, for the driver to store (and, as here, to any OTLP
    collector the environment names)."""
    return make_backend(suite, settings, configure_telemetry(settings, service_name="goldgate-run-worker",
                                                             span_rows=rows))


def make_backend(suite: Suite, settings: Settings, tel: Telemetry | None = None) -> Backend:
    if suite.endpoint is not None:
        from evals.run.endpoint_backend import EndpointBackend

        return EndpointBackend(suite.endpoint, suite.sampling, suite.concurrency, suite.timeout_s, tel,
                               api_key=settings.secret(suite.endpoint.api_key_env))
    from evals.run.engine_backend import EngineBackend

    return EngineBackend(_suite_engine(suite.model, suite, settings, tel), suite.sampling,
                         group_size=min(8, suite.concurrency))


def _suite_engine(model: str | None, suite: Suite, settings: Settings, tel: Telemetry | None) -> Engine:
    """`model` on the engine the suite's `engine:` block describes (a bad device or dtype names that field)."""
    return load_engine(model, settings, device=suite.engine.device, dtype=suite.engine.dtype, flag_prefix="engine.",
                       max_batch_size=suite.concurrency, telemetry=tel)


def make_judges(suite: Suite, backend: Backend, store: Store, settings: Settings,
                tel: Telemetry | None = None) -> list[Judge]:
    """The suite's judges; one on the suite's own local model shares its loaded engine."""
    from evals.judges.judge import JUDGE_SAMPLING, Judge
    from evals.judges.spec import load_judge_prompt
    from evals.run.endpoint_backend import EndpointBackend
    from evals.run.engine_backend import EngineBackend

    judges = []
    for i, config in enumerate(suite.judges):
        prompt = load_judge_prompt(config.prompt)
        if prompt.spec.mode != "pointwise":
            raise EvalInputError("a suite judge scores each answer: it must be pointwise", file=config.prompt,
                                 field="mode")
        if config.endpoint is not None:
            judge_backend = EndpointBackend(config.endpoint, JUDGE_SAMPLING, suite.concurrency, suite.timeout_s, tel,
                                            api_key=settings.secret(config.endpoint.api_key_env))
        elif isinstance(backend, EngineBackend) and config.model in (None, suite.model):
            judge_backend = EngineBackend(backend.engine, JUDGE_SAMPLING)
        elif config.model is None and suite.endpoint is not None:
            raise EvalInputError("name the judge's model or endpoint (the suite's model is remote)",
                                 field=f"judges.{i}")
        else:  # its own model, or the suite's when the suite's engines are on a Ray cluster
            judge_backend = EngineBackend(_suite_engine(config.model or suite.model, suite, settings, tel),
                                          JUDGE_SAMPLING)
        judges.append(Judge(prompt, judge_backend, with_reference=config.reference, store=store))
    return judges


def handle(args: argparse.Namespace, settings: Settings) -> int:
    """Spans go to the store beside the results (and to any OTLP collector the environment names)."""
    from evals.store.store import Store
    from telemetry.sinks import SpanRowBuffer

    store = Store(args.db)
    suite, subset = suite_from_args(args, store)
    prices = run_prices(args, suite, store)
    rows = SpanRowBuffer()
    tel = configure_telemetry(settings, service_name="goldgate-run", span_rows=rows, jsonl_path=args.spans_jsonl,
                              prices=prices)
    try:
        return _run(args, settings, tel, rows, store, suite, subset)
    finally:
        tel.shutdown()


def run_prices(args: argparse.Namespace, suite: Suite, store: Store) -> PriceTable | None:
    """`--prices`, or on resume the table the run began with (whether it prices every model is checked once
    they are loaded and their ids known)."""
    from evals.run.prices import load_prices
    from telemetry.prices import PriceTable

    if args.resume:
        stored = store.run_record(args.resume)["settings"].get("prices")
        return PriceTable.model_validate(stored) if stored else None
    return load_prices(args.prices) if args.prices is not None else None


def _run(args: argparse.Namespace, settings: Settings, tel: Telemetry, rows: SpanRowBuffer, store: Store,
         suite: Suite, subset: Subset) -> int:
    from evals.analysis.report import build_summary
    from evals.golden.dataset import load_golden_set
    from evals.judges.in_runs import judge_answers, judge_record
    from evals.render.report import print_report
    from evals.run.prices import check_priced
    from evals.run.progress import RunProgress
    from evals.run.record import new_run_id, run_record
    from evals.run.runner import RunTarget, execute
    from evals.store.results import create_run, finish_run, mark_run
    from evals.tracing.run import RunTracing

    golden = load_golden_set(suite.dataset)  # every line checked before anything is generated or stored
    try:
        suite.check_prompt(golden)
        suite.check_slices(golden)
    except EvalInputError as e:
        raise e.in_file(args.suite) from None
    examples = subset.select(golden)
    scorers = suite.build_scorers()
    backend = run_backend(args, suite, settings, tel, rows)
    judges = make_judges(suite, backend, store, settings, tel)
    check_priced(tel.prices, args.prices or "the stored run's price table", backend.model_id,
                 *(j.backend.model_id for j in judges))
    if args.resume:
        run_id = args.resume
        _check_unchanged(store.run_record(run_id), golden.sha256, backend)
        mark_run(store, run_id, "running")
    else:
        run_id = new_run_id(suite.name)
        create_run(store, run_record(run_id, suite, golden, len(examples), subset, tag=args.tag,
                                     model_id=backend.model_id, model_digest=backend.model_digest,
                                     endpoint=backend.endpoint, judges=[judge_record(j, store) for j in judges],
                                     prices=tel.prices))
    tracing = RunTracing(tel, rows, run_id=run_id, suite=suite.name, dataset_sha256=golden.sha256,
                         model=backend.model_id, prompt_sha256=suite.prompt.sha256)
    target = RunTarget(run_id, suite, golden, examples, scorers, backend, tracing, tel.prices)
    try:
        with RunProgress(len(examples) * suite.epochs, run_id, done=len(store.done_keys(run_id))) as progress:
            execute(store, target, progress)
        judge_answers(store, run_id, judges, {ex.id: ex for ex in examples}, tracing, tel.prices)
        tracing.end()
        summary = build_summary(store, run_id)
        finish_run(store, run_id, summary, tracing.drain())
    except BaseException as e:  # never left `running` by a process that has stopped: resume finishes it
        mark_run(store, run_id, "interrupted" if isinstance(e, KeyboardInterrupt) else "failed")
        raise
    out = args.json or args.db.parent / "runs" / f"{run_id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(summary.to_json() + "\n")
    print_report(summary)
    print(f"stored in {args.db}; summary in {out}")
    check_failures(store, run_id, suite.max_error_rate, judges)
    return 0


def check_failures(store: Store, run_id: str, max_error_rate: float, judges: list[Judge]) -> None:
    """A run whose every generation, or every call of one judge, failed is no result (a wrong key, a
    server that refuses the requests): it is stored, and then refused with the first error."""
    from evals.store.results import failure_counts

    results, errors, first_error, judged = failure_counts(store, run_id)
    if results and (errors == results or errors / results > max_error_rate):
        raise EvalInputError(f"{errors} of {results} generations failed (max_error_rate {max_error_rate:g}); "
                             f"the first: {first_error}", field="run")
    for judge in judges:
        scored, calls, problem = judged.get(judge.judge_id, (0, 0, None))
        if calls and not scored:
            raise EvalInputError(f"judge {judge.judge_id} gave no usable verdict on any of {calls} answers; "
                                 f"the first problem: {problem}", field="judges")


def _check_unchanged(record: dict, dataset_sha: str, backend: Backend) -> None:
    if record["dataset_sha256"] != dataset_sha:
        raise EvalInputError(f"the golden set changed since the run started (sha256 {record['dataset_sha256'][:12]} "
                             f"then, {dataset_sha[:12]} now); start a new run", file=record["dataset_path"])
    if record["model_digest"] != backend.model_digest:
        raise EvalInputError("the model's weights changed since the run started; start a new run", field="--resume")
