"""`goldgate datasets validate|hash|stats|split FILE`: golden sets checked and inspected before they are run;
`goldgate datasets harvest`: production requests made into a candidate golden set."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from evals.cli.common import add_db_option, existing_store
from evals.cli.production import captured_requests_since, since_flag
from evals.errors import EvalInputError, UsageError
from evals.golden.dataset import Expected, is_holdout, load_golden_set
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    datasets = commands.add_parser("datasets", help="validate, hash, describe and split golden sets; harvest one "
                                   "from production")
    sub = datasets.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    for name, handler, help_ in (("validate", handle_validate, "check every line; exit 2 naming the first problem"),
                                 ("hash", handle_hash, "the SHA-256 that pins the set"),
                                 ("stats", handle_stats, "examples per label value and per kind of expected answer"),
                                 ("split", handle_split, "the public / private-holdout split")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("file", type=Path)
        p.set_defaults(handler=handler)
        if name in ("stats", "split"):
            p.add_argument("--holdout", type=float, default=0.2, help="the private share (default: %(default)s)")
            p.add_argument("--salt", default="", help="rotates which examples are private")
        if name == "split":
            p.add_argument("--out", type=Path, help="write NAME.public.jsonl and NAME.holdout.jsonl here")
    p = sub.add_parser("harvest", help="sampled production requests as a candidate golden set (no expected answers)")
    add_db_option(p, settings)
    p.add_argument("--since", default="7d", metavar="AGE", help="requests of the last AGE (default: %(default)s)")
    p.add_argument("--sample", type=int, metavar="N", help="at most N examples (default: every distinct input)")
    p.add_argument("--stratify", metavar="LABEL", help="keep the LABEL's proportions (feature, variant, tenant, model)")
    p.add_argument("--seed", type=int, default=0, help="which sample (default: %(default)s)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the candidate set (JSONL) to create")
    p.set_defaults(handler=handle_harvest)


def handle_validate(args: argparse.Namespace, settings: Settings) -> int:
    golden = load_golden_set(args.file)
    print(f"{args.file}: {len(golden)} examples, valid; sha256 {golden.sha256}")
    return 0


def handle_hash(args: argparse.Namespace, settings: Settings) -> int:
    print(f"{load_golden_set(args.file).sha256}  {args.file}")
    return 0


def _check_fraction(value: float) -> None:
    if not 0 <= value < 1:
        raise EvalInputError(f"must be in [0, 1), got {value}", field="--holdout")


def handle_stats(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    _check_fraction(args.holdout)
    golden = load_golden_set(args.file)
    labels: Counter[tuple[str, str]] = Counter()
    fields: Counter[str] = Counter()
    for ex in golden.examples:
        labels.update(ex.labels.items())
        fields.update(f for f in Expected.model_fields if getattr(ex.expected, f) not in (None, ()))
    held = sum(is_holdout(ex.id, args.holdout, args.salt) for ex in golden.examples)
    console = Console()
    console.print(f"{golden.name}: {len(golden)} examples ({held} in the private holdout), sha256 {golden.sha256}")
    table = Table("label", "value", "examples", title="slices", title_justify="left")
    for (key, value), n in sorted(labels.items()):
        table.add_row(key, value, str(n))
    console.print(table)
    table = Table("expected field", "examples", title="what the answers are checked against", title_justify="left")
    for name, n in sorted(fields.items()):
        table.add_row(name, str(n))
    console.print(table)
    return 0


def handle_split(args: argparse.Namespace, settings: Settings) -> int:
    _check_fraction(args.holdout)
    golden = load_golden_set(args.file)
    private = {ex.id for ex in golden.examples if is_holdout(ex.id, args.holdout, args.salt)}
    print(f"{golden.name}: {len(golden) - len(private)} public, {len(private)} private holdout")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        lines = [line for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
        parts = {"public": [], "holdout": []}
        for ex, line in zip(golden.examples, lines):
            parts["holdout" if ex.id in private else "public"].append(line)
        for part, chosen in parts.items():
            target = args.out / f"{golden.name}.{part}.jsonl"
            target.write_text("".join(f"{line}\n" for line in chosen), encoding="utf-8")
            print(f"{part}: {target}")
    return 0


def handle_harvest(args: argparse.Namespace, settings: Settings) -> int:
    from evals.golden.harvest import example_line, harvest

    since_flag(args.since)  # a bad age is refused before anything else
    if args.sample is not None and args.sample < 1:
        raise UsageError(f"--sample: must be at least 1, got {args.sample}")
    if args.out.exists():
        raise UsageError(f"--out: {args.out} exists; harvest writes a new candidate set, never over one")
    requests = captured_requests_since(existing_store(args.db), args.db, args.since, "goldgate datasets harvest")
    result = harvest(requests, args.db, sample=args.sample, stratify=args.stratify, seed=args.seed)
    if not result.examples:
        raise EvalInputError(f"none of the {result.requests} captured requests is usable as a golden example",
                             file=args.db)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(example_line(ex) + "\n" for ex in result.examples), encoding="utf-8")
    except OSError as e:
        raise UsageError(f"--out: cannot write {args.out}: {e.strerror}") from None
    golden = load_golden_set(args.out)  # what was written is a valid golden set, or this is a defect
    print(f"{args.out}: {len(golden)} candidate examples from {result.requests} captured requests "
          f"({result.duplicates} repeated inputs, {result.unusable} unusable); sha256 {golden.sha256}. "
          "They have no expected answers yet: label them before they gate anything.")
    return 0
