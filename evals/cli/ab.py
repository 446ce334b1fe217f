"""`goldgate ab --a VARIANT --b VARIANT`: an online experiment read while it runs. Production traffic
tagged with two variants (`metadata.variant` or `X-Goldgate-Variant`), each request good or bad by
`--metric`, compared by the mSPRT (an always-valid p-value and confidence sequence: reading it every day
does not inflate false alarms) and a Beta-Binomial read-out (P(B beats A), the expected loss of each choice)."""

from __future__ import annotations

import argparse

from evals.cli.common import add_db_option, existing_store
from evals.cli.production import since_flag
from evals.cli.exit_codes import EXIT_OK
from evals.errors import EvalInputError, UsageError
from evals.settings import Settings

METRICS = ("errors", "slow_first_token")


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("ab", help="read an online A/B test of two variants: always-valid p-value, P(B beats A)")
    p.add_argument("--a", required=True, metavar="VARIANT", help="the control's variant label")
    p.add_argument("--b", required=True, metavar="VARIANT", help="the treatment's variant label")
    p.add_argument("--metric", choices=METRICS, default="errors",
                   help="what makes a request bad: a 5xx answer, or a first token later than --threshold-s")
    p.add_argument("--threshold-s", type=float, default=1.0, help="for slow_first_token (default: %(default)s)")
    p.add_argument("--since", default="14d", metavar="AGE", help="the experiment's traffic (default: the last %(default)s)")
    p.add_argument("--alpha", type=float, default=0.05, help="the sequential test's level (default: %(default)s)")
    p.add_argument("--tau", type=float, default=0.05, help="the difference in the bad rate the test is tuned to find "
                   "(default: %(default)s, five points)")
    add_db_option(p, settings)
    p.add_argument("--json", action="store_true", help="print the read-out as JSON")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    import json
    from dataclasses import asdict

    from evals.render.ab import print_ab
    from evals.stats.online import beta_binomial_ab, msprt
    from evals.store.slo_events import first_tokens, requests
    from evals.store.variants import variant_outcomes

    since = since_flag(args.since)
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha: must be between 0 and 1, got {args.alpha}")
    if args.tau <= 0 or args.threshold_s <= 0:
        raise UsageError(f"--{'tau' if args.tau <= 0 else 'threshold-s'}: must be positive")
    source = requests() if args.metric == "errors" else first_tokens(args.threshold_s)
    a, b = variant_outcomes(existing_store(args.db), source, (args.a, args.b), since)
    n = min(a.size, b.size)  # the sequential test reads the arms in step
    if n < 2:
        raise EvalInputError(f"variants {args.a!r} and {args.b!r} have {a.size} and {b.size} requests in the last "
                             f"{args.since}; the test needs at least 2 of each", file=args.db)
    sequential = msprt(a[:n], b[:n], alpha=args.alpha, tau=args.tau)
    # a good request is a success: P(B beats A) is the probability that B's good rate is the higher
    bayes = beta_binomial_ab(int(a.size - a.sum()), a.size, int(b.size - b.sum()), b.size)
    if args.json:
        print(json.dumps({"a": args.a, "b": args.b, "metric": args.metric, "n_a": int(a.size), "n_b": int(b.size),
                          "bad_rate_a": float(a.mean()), "bad_rate_b": float(b.mean()),
                          "sequential": asdict(sequential), "bayesian": asdict(bayes)}, indent=2))
    else:
        print_ab(args.a, args.b, args.metric, a, b, sequential, bayes)
    return EXIT_OK
