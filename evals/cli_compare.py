"""`goldgate compare RUN_A RUN_B` and `goldgate gate --candidate RUN --baseline RUN --policy gate.yaml`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.compare import compare
from evals.compare_render import as_json, junit, markdown, print_comparison
from evals.errors import EvalInputError
from evals.exit_codes import EXIT_GATE_FAILED
from evals.gate import evaluate, load_policy
from evals.store.store import Store, default_store_path


def register(commands: argparse._SubParsersAction) -> None:
    c = commands.add_parser("compare", help="what changed between two runs, and whether it is more than noise")
    c.add_argument("run_a", help="the baseline run")
    c.add_argument("run_b", help="the candidate run")
    c.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    _common(c)
    c.set_defaults(handler=run_compare)
    g = commands.add_parser("gate", help="exit 1 when the candidate regresses beyond the policy")
    g.add_argument("--candidate", required=True, metavar="RUN")
    base = g.add_mutually_exclusive_group(required=True)
    base.add_argument("--baseline", metavar="RUN")
    base.add_argument("--baseline-tag", metavar="TAG", help="the newest completed run with this tag")
    g.add_argument("--policy", type=Path, required=True, help="the gate policy (YAML)")
    g.add_argument("--markdown", type=Path, help="write the Markdown report here too")
    g.add_argument("--junit", type=Path, help="write JUnit XML here")
    g.add_argument("--json", type=Path, help="write the JSON result here")
    _common(g)
    g.set_defaults(handler=run_gate)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=default_store_path(), help="the DuckDB store (default: %(default)s)")
    p.add_argument("--split", choices=["public", "holdout", "all"], default="public")
    p.add_argument("--allow-different-datasets", action="store_true",
                   help="compare the shared example ids of runs on different golden sets")


def run_compare(args: argparse.Namespace) -> int:
    c = compare(Store(args.db), args.run_a, args.run_b, split=args.split,
                allow_different=args.allow_different_datasets)
    if args.format == "json":
        print(json.dumps(as_json(c), indent=2))
    elif args.format == "markdown":
        print(markdown(c), end="")
    else:
        print_comparison(c)
    return 0


def baseline_run(store: Store, args: argparse.Namespace) -> str:
    if args.baseline:
        return args.baseline
    tagged = [r for r in store.list_runs() if r["tag"] == args.baseline_tag and r["status"] == "completed"
              and r["run_id"] != args.candidate]
    if not tagged:
        raise EvalInputError(f"no completed run tagged {args.baseline_tag!r} in the store", field="--baseline-tag")
    return tagged[-1]["run_id"]


def run_gate(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    store = Store(args.db)
    baseline = baseline_run(store, args)
    c = compare(store, baseline, args.candidate, split=args.split, allow_different=args.allow_different_datasets)
    judges = store.run_record(args.candidate)["judges"]
    kappas = {j["judge_id"]: min(j["calibration"]["kappa"].values(), default=None) for j in judges}
    checks = evaluate(c, policy, kappas)
    report = markdown(c, checks)
    print(report, end="")
    for path, text in ((args.markdown, report), (args.junit, junit(checks) if args.junit else ""),
                       (args.json, json.dumps(as_json(c, checks), indent=2) + "\n" if args.json else "")):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    failed = sum(k.status == "fail" for k in checks)
    store.add_gate_result(args.candidate, baseline, failed, as_json(c, checks))  # the dashboard shows the verdict
    return EXIT_GATE_FAILED if failed else 0
