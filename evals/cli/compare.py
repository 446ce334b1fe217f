"""`goldgate compare RUN_A RUN_B`: what changed between two runs, and whether it is more than noise."""

from __future__ import annotations

import argparse
import json

from evals.cli.common import add_db_option
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    c = commands.add_parser("compare", help="what changed between two runs, and whether it is more than noise")
    c.add_argument("run_a", help="the baseline run")
    c.add_argument("run_b", help="the candidate run")
    c.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    add_comparison_options(c, settings)
    c.set_defaults(handler=handle)


def add_comparison_options(p: argparse.ArgumentParser, settings: Settings) -> None:
    """What `compare` and `gate` both take: the store, the split and whether the golden sets may differ."""
    add_db_option(p, settings)
    p.add_argument("--split", choices=["public", "holdout", "all"], default="public")
    p.add_argument("--allow-different-datasets", action="store_true",
                   help="compare the shared example ids of runs on different golden sets")


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from evals.analysis.compare import compare
    from evals.render.compare import as_json, markdown, print_comparison
    from evals.store.store import Store

    c = compare(Store(args.db), args.run_a, args.run_b, split=args.split,
                allow_different=args.allow_different_datasets)
    if args.format == "json":
        print(json.dumps(as_json(c), indent=2))
    elif args.format == "markdown":
        print(markdown(c), end="")
    else:
        print_comparison(c)
    return 0
