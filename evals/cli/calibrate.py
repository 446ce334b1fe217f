"""`goldgate calibrate`: a judge against human labels (kappa per rubric dimension, stored), or `--probes`
for its length and position bias."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from evals.cli.common import add_db_option, backend_from_flags
from evals.errors import EvalInputError
from evals.resources import judge_prompt
from evals.settings import Settings

if TYPE_CHECKING:
    from evals.judges.calibration import DimensionReport
    from evals.judges.judge import Judge, Judgment
    from evals.judges.labels import LabelFile
    from evals.judges.spec import JudgeSpec
    from evals.run.work import Backend
    from evals.store.store import Store


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("calibrate", help="measure a judge against human labels, or probe its biases")
    p.add_argument("--judge", type=Path, required=True, help="a pointwise judge prompt file (datasets/judges/*.yaml)")
    p.add_argument("--dataset", type=Path, required=True, help="the golden set the labelled answers belong to")
    p.add_argument("--answers", type=Path, help="JSONL: example_id, answer (the answers that were labelled)")
    p.add_argument("--labels", type=Path, help="JSONL or CSV: example_id, rater, dimension, label")
    p.add_argument("--from-store", action="store_true",
                   help="take the answers and labels from the store (labelled on the dashboard), not from files")
    p.add_argument("--probes", action="store_true", help="measure length and position bias instead")
    p.add_argument("--pairwise-judge", type=Path, help="the judge for the position probe "
                   "(default: the pairwise-v1 prompt goldgate ships)")
    p.add_argument("--reference", action="store_true", help="show the judge the golden answer (reference-augmented)")
    p.add_argument("--model", help="the judge model: a known name, GGUF file or folder; with --endpoint, its name")
    p.add_argument("--endpoint", metavar="URL", help="an OpenAI-compatible base URL for the judge")
    add_db_option(p, settings)
    p.set_defaults(handler=handle)


def judge_backend(args: argparse.Namespace, settings: Settings) -> Backend:
    from evals.judges.judge import JUDGE_SAMPLING

    return backend_from_flags(args.model, args.endpoint, JUDGE_SAMPLING, settings)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from evals.golden.dataset import load_golden_set
    from evals.judges.calibration import calibrate_dimension, raters_disagree
    from evals.judges.judge import Judge
    from evals.judges.labels import load_answers, load_labels, stored_labels
    from evals.judges.probes import length_bias, position_bias
    from evals.judges.spec import load_judge_prompt
    from evals.render.calibration import print_calibration, print_probes
    from evals.store.store import Store, now

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
    judge = Judge(prompt, judge_backend(args, settings), with_reference=args.reference, store=store)
    candidates = [(examples[i], answers[i]) for i in sorted(answers)]
    if args.probes:
        pairwise_prompt = load_judge_prompt(args.pairwise_judge or judge_prompt("pairwise-v1.yaml"))
        pairwise = Judge(pairwise_prompt, judge.backend, with_reference=args.reference, store=store)
        pairs = [(ex, a, ex.expected.answer) for ex, a in candidates if ex.expected.answer]
        print_probes(length_bias(judge, candidates), position_bias(pairwise, pairs))
        return 0
    judgments = judge.pointwise(candidates)
    hard = {ex.id for ex in golden.examples if ex.labels.get("difficulty") == "hard"}
    dims = sorted({lab.dimension for lab in labels.labels})
    reports = [calibrate_dimension(d, prompt.spec.scale(d), judgments, labels.labels, hard) for d in dims]
    for report in reports:
        if (problem := raters_disagree(report)) is not None:
            raise EvalInputError(f"{problem}; clarify it and label again (nothing was stored)",
                                 file=labels.path, field="label")
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
    from evals.store import judging

    spec = judge.prompt.spec
    judging.store_calibration(
        store,
        labels=[{"dataset_sha256": dataset_sha, **lab.model_dump()} for lab in labels.labels],
        judgments=[{"run_id": calibration_id, "example_id": j.example_id, "epoch": 0, "judge_id": judge.judge_id,
                    "judge_prompt_sha256": judge.prompt.sha256, "dimension": dim, "outcome": j.verdict.outcome,
                    "score": j.verdict.scores.get(dim), "rationale": j.verdict.rationale or j.verdict.problem,
                    "raw": j.raw, "cost": None} for j in judgments for dim in [*spec.dimensions, "overall"]],
        calibrations=[{"calibration_id": calibration_id, "judge_id": judge.judge_id,
                       "judge_prompt_sha256": judge.prompt.sha256, "judge_model_id": judge.backend.model_id,
                       "judge_model_digest": judge.backend.model_digest, "dataset_sha256": dataset_sha,
                       "labels_sha256": labels.sha256, "dimension": r.dimension, "n_items": r.n_items,
                       "kappa": r.kappa, "kappa_low": r.kappa_low, "kappa_high": r.kappa_high, "verdict": r.verdict,
                       "report": r.as_dict()} for r in reports])
