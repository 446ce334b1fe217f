"""`goldgate gate --candidate RUN|--candidate-tag TAG --baseline RUN|--baseline-tag TAG --policy gate.yaml`:
exit 1 on a real regression only."""

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
    cand = g.add_mutually_exclusive_group(required=True)
    cand.add_argument("--candidate", metavar="RUN")
    cand.add_argument("--candidate-tag", metavar="TAG", help="the newest completed run with this tag")
    base = g.add_mutually_exclusive_group(required=True)
    base.add_argument("--baseline", metavar="RUN")
    base.add_argument("--baseline-tag", metavar="TAG", help="the newest completed run with this tag")
    g.add_argument("--policy", type=Path, required=True, help="the gate policy (YAML)")
    g.add_argument("--markdown", type=Path, help="write the Markdown report here too")
    g.add_argument("--junit", type=Path, help="write JUnit XML here")
    g.add_argument("--json", type=Path, help="write the JSON result here")
    add_comparison_options(g, settings)
    g.set_defaults(handler=handle)


def newest_tagged(store: Store, tag: str, flag: str, *, other_than: str | None = None) -> str:
    """The newest completed run with `tag` (not `other_than`)."""
    tagged = [r for r in store.list_runs() if r["tag"] == tag and r["status"] == "completed"
              and r["run_id"] != other_than]
    if not tagged:
        raise EvalInputError(f"no completed run tagged {tag!r} in the store", field=flag)
    return tagged[-1]["run_id"]


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from evals.analysis.compare import compare
    from datetime import timedelta

    from evals.analysis.gate import evaluate, load_policy
    from evals.judges.governance import gating
    from evals.render.compare import as_json, junit, markdown
    from evals.store.store import Store, now

    policy = load_policy(args.policy)
    store = Store(args.db)
    candidate = args.candidate or newest_tagged(store, args.candidate_tag, "--candidate-tag")
    baseline = args.baseline or newest_tagged(store, args.baseline_tag, "--baseline-tag", other_than=candidate)
    c = compare(store, baseline, candidate, split=args.split, allow_different=args.allow_different_datasets)
    max_age = policy.judge_calibration_max_age_days
    judges = gating(store, store.run_record(candidate)["judges"], timedelta(days=max_age) if max_age else None, now())
    try:
        checks = evaluate(c, policy, judges)
    except EvalInputError as e:  # a metric or slice the policy names that the runs do not have
        raise e.in_file(args.policy) from None
    report = markdown(c, checks)
    print(report, end="")
    for path, text in ((args.markdown, report), (args.junit, junit(checks) if args.junit else ""),
                       (args.json, json.dumps(as_json(c, checks), indent=2) + "\n" if args.json else "")):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    failed = sum(k.status == "fail" for k in checks)
    store.add_gate_result(candidate, baseline, failed, as_json(c, checks))  # the dashboard shows the verdict
    return EXIT_GATE_FAILED if failed else EXIT_OK
