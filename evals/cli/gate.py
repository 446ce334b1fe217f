"""`goldgate gate --candidate RUN --baseline RUN --policy gate.yaml`: exit 1 on a real regression only."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from evals.cli.compare import add_comparison_options
from evals.cli.exit_codes import EXIT_GATE_FAILED, EXIT_OK
from evals.errors import EvalInputError
from evals.settings import Settings

if TYPE_CHECKING:
    from evals.store.store import Store


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    g = commands.add_parser("gate", help="exit 1 when the candidate regresses beyond the policy")
    g.add_argument("--candidate", required=True, metavar="RUN")
    base = g.add_mutually_exclusive_group(required=True)
    base.add_argument("--baseline", metavar="RUN")
    base.add_argument("--baseline-tag", metavar="TAG", help="the newest completed run with this tag")
    g.add_argument("--policy", type=Path, required=True, help="the gate policy (YAML)")
    g.add_argument("--markdown", type=Path, help="write the Markdown report here too")
    g.add_argument("--junit", type=Path, help="write JUnit XML here")
    g.add_argument("--json", type=Path, help="write the JSON result here")
    add_comparison_options(g, settings)
    g.set_defaults(handler=handle)


def baseline_run(store: Store, args: argparse.Namespace) -> str:
    if args.baseline:
        return args.baseline
    tagged = [r for r in store.list_runs() if r["tag"] == args.baseline_tag and r["status"] == "completed"
              and r["run_id"] != args.candidate]
    if not tagged:
        raise EvalInputError(f"no completed run tagged {args.baseline_tag!r} in the store", field="--baseline-tag")
    return tagged[-1]["run_id"]


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from evals.analysis.compare import compare
    from evals.analysis.gate import evaluate, load_policy
    from evals.render.compare import as_json, junit, markdown
    from evals.store.store import Store

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
    return EXIT_GATE_FAILED if failed else EXIT_OK
