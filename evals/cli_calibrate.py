"""`goldgate calibrate`: a judge against human labels (kappa per rubric dimension, stored), or `--probes`
for its length and position bias."""

from __future__ import annotations

import argparse
import json
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.engine import DEFAULT_MAX_BATCH
from evals.backends import Backend, EndpointBackend, EngineBackend
from evals.cli_run import load_engine
from evals.dataset import load_golden_set
from evals.errors import EvalInputError
from evals.judges.calibration import DimensionReport, calibrate_dimension
from evals.judges.judge import JUDGE_SAMPLING, Judge, Judgment
from evals.judges.labels import LabelFile, load_answers, load_labels, stored_labels
from evals.judges.probes import length_bias, position_bias
from evals.judges.spec import JudgeSpec, load_judge_prompt
from evals.store.store import Store, default_store_path, json_safe, now
from evals.suite import EndpointConfig, EngineConfig

DEFAULT_PAIRWISE = Path(__file__).resolve().parent.parent / "datasets" / "judges" / "pairwise-v1.yaml"


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("calibrate", help="measure a judge against human labels, or probe its biases")
    p.add_argument("--judge", type=Path, required=True, help="a pointwise judge prompt file (datasets/judges/*.yaml)")
    p.add_argument("--dataset", type=Path, required=True, help="the golden set the labelled answers belong to")
    p.add_argument("--answers", type=Path, help="JSONL: example_id, answer (the answers that were labelled)")
    p.add_argument("--labels", type=Path, help="JSONL or CSV: example_id, rater, dimension, label")
    p.add_argument("--from-store", action="store_true",
                   help="take the answers and labels from the store (labelled on the dashboard), not from files")
    p.add_argument("--probes", action="store_true", help="measure length and position bias instead")
    p.add_argument("--pairwise-judge", type=Path, default=DEFAULT_PAIRWISE, help="the judge for the position probe")
    p.add_argument("--reference", action="store_true", help="show the judge the golden answer (reference-augmented)")
    p.add_argument("--model", help="the judge model: a known name, GGUF file or folder; with --endpoint, its name")
    p.add_argument("--endpoint", metavar="URL", help="an OpenAI-compatible base URL for the judge")
    p.add_argument("--db", type=Path, default=default_store_path(), help="the DuckDB store (default: %(default)s)")
    p.set_defaults(handler=run)


def judge_backend(args: argparse.Namespace) -> Backend:
    if args.endpoint:
        if not args.model:
            raise EvalInputError("needs --model, the model name the endpoint serves", field="--endpoint")
        return EndpointBackend(EndpointConfig(url=args.endpoint, model=args.model), JUDGE_SAMPLING,
                               concurrency=8, timeout_s=120.0)
    return EngineBackend(load_engine(args.model, EngineConfig(), DEFAULT_MAX_BATCH), JUDGE_SAMPLING)


def run(args: argparse.Namespace) -> int:
    if args.from_store and (args.answers or args.labels or args.probes):
        raise EvalInputError("takes no --answers, --labels or --probes: the store holds both", field="--from-store")
    if not args.from_store and args.probes == bool(args.labels):
        raise EvalInputError("give --labels to calibrate, or --probes to measure biases (one of the two)",
                             field="--labels")
    if not args.from_store and not args.answers:
        raise EvalInputError("give the labelled answers (or --from-store)", field="--answers")
    prompt = load_judge_prompt(args.judge)
    if prompt.spec.mode != "pointwise":
        raise EvalInputError("calibration needs a pointwise judge", file=args.judge, field="mode")
    golden = load_golden_set(args.dataset)
    examples = {ex.id: ex for ex in golden.examples}
    store = Store(args.db)
    if args.from_store:
        answers, labels = stored_labels(store, golden.sha256)
    else:
        answers, labels = load_answers(args.answers), load_labels(args.labels) if args.labels else None
    unknown = sorted(answers.keys() - examples.keys())
    if unknown:
        raise EvalInputError(f"example {unknown[0]!r} is not in {golden.path}", file=args.answers or store.path,
                             field="example_id")
    if labels:
        _check_labels(labels, answers, prompt.spec)
    judge = Judge(prompt, judge_backend(args), with_reference=args.reference, store=store)
    candidates = [(examples[i], answers[i]) for i in sorted(answers)]
    if args.probes:
        pairwise = Judge(load_judge_prompt(args.pairwise_judge), judge.backend, with_reference=args.reference,
                         store=store)
        pairs = [(ex, a, ex.expected.answer) for ex, a in candidates if ex.expected.answer]
        print_probes(length_bias(judge, candidates), position_bias(pairwise, pairs))
        return 0
    judgments = judge.pointwise(candidates)
    hard = {ex.id for ex in golden.examples if ex.labels.get("difficulty") == "hard"}
    dims = sorted({lab.dimension for lab in labels.labels})
    reports = [calibrate_dimension(d, prompt.spec.scale(d), judgments, labels.labels, hard) for d in dims]
    calibration_id = f"calibration-{prompt.judge_id}-{now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    store_calibration(store, calibration_id, judge, golden.sha256, labels, judgments, reports)
    print_calibration(calibration_id, judge, reports)
    return 0


def _check_labels(labels: LabelFile, answers: dict[str, str], spec: JudgeSpec) -> None:
    for line, lab in zip(labels.lines, labels.labels):
        def bad(detail: str, field: str) -> EvalInputError:
            return EvalInputError(detail, file=labels.path, line=line, field=field)

        if lab.example_id not in answers:
            raise bad(f"example {lab.example_id!r} has no answer in --answers", "example_id")
        if lab.dimension != "overall" and lab.dimension not in spec.dimensions:
            raise bad(f"{lab.dimension!r} is not one of the judge's: {', '.join([*spec.dimensions, 'overall'])}",
                      "dimension")
        scale = spec.scale(lab.dimension)
        if not lab.label.lstrip("-").isdigit() or not scale.min <= int(lab.label) <= scale.max:
            raise bad(f"{lab.label!r} is not an integer in [{scale.min}, {scale.max}]", "label")


def store_calibration(store: Store, calibration_id: str, judge: Judge, dataset_sha: str, labels: LabelFile,
                      judgments: list[Judgment], reports: list[DimensionReport]) -> None:
    created = now()
    with store.write() as con:
        con.executemany(
            "INSERT INTO human_labels VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET label = excluded.label, "
            "imported_at = excluded.imported_at",
            [(dataset_sha, lab.example_id, lab.rater, lab.dimension, lab.label, created) for lab in labels.labels])
        con.executemany("INSERT INTO judgments VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (calibration_id, j.example_id, judge.judge_id, judge.prompt.sha256, dim, j.verdict.outcome,
             j.verdict.scores.get(dim), j.verdict.rationale or j.verdict.problem, j.raw, created)
            for j in judgments for dim in [*judge.prompt.spec.dimensions, "overall"]])
        con.executemany("INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (calibration_id, judge.judge_id, judge.prompt.sha256, judge.backend.model_id, judge.backend.model_digest,
             dataset_sha, labels.sha256, r.dimension, r.n_items, json_safe(r.kappa), json_safe(r.kappa_low),
             json_safe(r.kappa_high), r.verdict, json.dumps(json_safe(r.as_dict())), created) for r in reports])


def _num(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.3f}"


def print_calibration(calibration_id: str, judge: Judge, reports: list[DimensionReport]) -> None:
    console = Console()
    console.print(f"[bold]{calibration_id}[/bold]: judge {judge.judge_id} (sha256 {judge.prompt.sha256[:12]}) "
                  f"on {judge.backend.model_id}")
    for r in reports:
        table = Table("", "", title=f"{r.dimension}: judge against human labels", title_justify="left",
                      show_header=False)
        inter = ", ".join(f"{p['a']}~{p['b']} {_num(p['kappa'])}" for p in r.inter_rater) or "n/a (one rater)"
        for name, value in (
                ("items (judged, with a consensus)", str(r.n_items)),
                ("judge parse failures", str(r.parse_errors)),
                ("kappa vs consensus", f"{_num(r.kappa)} [{_num(r.kappa_low)}, {_num(r.kappa_high)}] ({r.band})"),
                ("weighted kappa (quadratic)", _num(r.weighted_kappa)),
                ("Krippendorff's alpha, raters and judge", _num(r.alpha)),
                ("kappa on the hard slice / the rest", f"{_num(r.hard['hard']['kappa'])} (n={r.hard['hard']['n']}) / "
                                                       f"{_num(r.hard['rest']['kappa'])} (n={r.hard['rest']['n']})"),
                ("judge vs each rater", ", ".join(f"{k} {_num(v)}" for k, v in r.judge_vs_rater.items())),
                ("between raters", inter),
                ("marginals", "; ".join(f"{k} {dict(sorted(v.items()))}" for k, v in r.marginals.items())),
                ("confusion (rows judge, columns consensus)", f"{r.confusion['labels']} {r.confusion['matrix']}"),
                ("disagreements", f"{len(r.disagreements)} (in the store, table calibrations)"),
                ("verdict", f"[bold]{r.verdict}[/bold]")):
            table.add_row(name, value)
        console.print(table)


def print_probes(length, position) -> None:
    console = Console()
    console.print(f"length bias: overall {length.mean_original:.3f} as given, {length.mean_padded:.3f} padded; "
                  f"difference {length.difference:+.3f} [{length.low:+.3f}, {length.high:+.3f}] (N={length.n})")
    console.print(f"position bias: the answer shown first wins {position.first_wins:.3f} of decisive verdicts "
                  f"[{position.low:.3f}, {position.high:.3f}] (N={position.n}; 0.5 is unbiased); "
                  f"position consistency {position.consistency:.3f}")
    console.print_json(json.dumps(json_safe({"length_bias": asdict(length), "position_bias": asdict(position)})))
