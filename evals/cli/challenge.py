"""`goldgate challenge`: would a challenger model serve production better? Sampled production inputs
replayed through the baseline and the challenger, and a pairwise judge's win rate for the challenger
with a CI, each pair judged in both orders (08 §9.3)."""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.cli.common import add_db_option, backend_from_flags, existing_store
from evals.cli.production import captured_requests_since, since_flag
from evals.cli.exit_codes import EXIT_OK
from evals.errors import EvalInputError, UsageError
from evals.resources import judge_prompt
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("challenge", help="a challenger model against the baseline on sampled production inputs")
    add_db_option(p, settings)
    p.add_argument("--since", default="7d", metavar="AGE", help="inputs of the last AGE (default: %(default)s)")
    p.add_argument("--sample", type=int, required=True, metavar="N", help="how many distinct inputs to replay")
    p.add_argument("--stratify", metavar="LABEL", help="keep the LABEL's proportions (feature, variant, tenant, model)")
    p.add_argument("--seed", type=int, default=0, help="which sample (default: %(default)s)")
    for side in ("baseline", "challenger"):
        p.add_argument(f"--{side}", required=True, metavar="MODEL",
                       help=f"the {side}: a known model, GGUF file or folder; with --{side}-endpoint, its name there")
        p.add_argument(f"--{side}-endpoint", metavar="URL", help=f"an OpenAI-compatible base URL serving the {side}")
    p.add_argument("--judge", type=Path, default=judge_prompt("pairwise-v1.yaml"),
                   help="a pairwise judge prompt (default: the pairwise-v1 prompt goldgate ships)")
    p.add_argument("--judge-model", help="the judge model (default: the default model); with --judge-endpoint, its name")
    p.add_argument("--judge-endpoint", metavar="URL", help="an OpenAI-compatible base URL for the judge")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    import json
    import math
    from dataclasses import asdict

    from evals.golden.harvest import harvest
    from evals.judges.challenge import CHALLENGE_SAMPLING, answer_all, challenge
    from evals.judges.judge import JUDGE_SAMPLING, Judge
    from evals.judges.spec import load_judge_prompt
    from evals.render.challenge import print_challenge

    since_flag(args.since)  # a bad age is refused before anything loads
    if args.sample < 1:
        raise UsageError(f"--sample: must be at least 1, got {args.sample}")
    prompt = load_judge_prompt(args.judge)
    if prompt.spec.mode != "pairwise":
        raise EvalInputError("a challenge needs a pairwise judge", file=args.judge, field="mode")
    requests = captured_requests_since(existing_store(args.db), args.db, args.since, "goldgate challenge")
    examples = harvest(requests, args.db, sample=args.sample, stratify=args.stratify, seed=args.seed).examples
    answers = [answer_all(backend_from_flags(model, endpoint, CHALLENGE_SAMPLING, settings), examples,
                          CHALLENGE_SAMPLING)
               for model, endpoint in ((args.baseline, args.baseline_endpoint),
                                       (args.challenger, args.challenger_endpoint))]
    judge = Judge(prompt, backend_from_flags(args.judge_model, args.judge_endpoint, JUDGE_SAMPLING, settings))
    result = challenge(examples, *answers, judge, seed=args.seed)
    if args.json:
        numbers = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(result).items()}
        print(json.dumps({"baseline": args.baseline, "challenger": args.challenger, "judge": judge.judge_id,
                          "inputs": len(examples), **numbers}, indent=2))
    else:
        print_challenge(result, args.baseline, args.challenger, judge.judge_id, len(examples))
    return EXIT_OK
