"""`goldgate drift --baseline WINDOW --current WINDOW`: has production traffic (or a run) drifted from a
baseline? Exits 1 while a drift alarm holds, like `slo check`, so a cron job or a CI step can page."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from pathlib import Path

from evals.cli.common import add_db_option, existing_store, instant
from evals.cli.exit_codes import EXIT_ALERT, EXIT_OK
from evals.durations import parse_duration
from evals.errors import UsageError
from evals.settings import Settings

WINDOW_HELP = ("run:RUN_ID (one run's answers), or START..END over production spans, each end an age such as "
               "14d or 6h (before --at), an ISO 8601 time, or empty for --at itself: 14d..7d, 7d..")


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("drift", help="compare two windows of traffic (or two runs) for drift; exit 1 on an alarm")
    p.add_argument("--baseline", required=True, metavar="WINDOW", help=WINDOW_HELP)
    p.add_argument("--current", required=True, metavar="WINDOW", help="as --baseline")
    p.add_argument("--policy", type=Path, metavar="FILE", help="thresholds, alpha and minimum samples (YAML; "
                   "default: PSI 0.2 on lengths, JS 0.05 on finish reasons and 0.1 on topic, rises of 5 points "
                   "in refusals and JSON failures and 2 in errors, alpha 0.01)")
    add_db_option(p, settings)
    p.add_argument("--at", metavar="TIME", help="ages count back from this ISO 8601 time instead of now")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    import json
    import sys

    from evals.analysis.drift import DriftPolicy, drift_report, load_drift_policy
    from evals.render.drift import drift_json, print_drift
    from evals.store.drift_samples import content_rows
    from evals.store.retention import record_content_read

    policy = load_drift_policy(args.policy) if args.policy else DriftPolicy()
    at = instant(args.at)
    store = existing_store(args.db)
    windows = [_rows(store, flag, value, at) for flag, value in (("--baseline", args.baseline),
                                                                 ("--current", args.current))]
    labels = (args.baseline, args.current)
    for label, rows in zip(labels, windows):  # the topic and refusal checks read captured content
        if n := content_rows(rows):
            record_content_read(store, "goldgate drift", label, n)
    report = drift_report(*windows, policy)
    if args.json:
        print(json.dumps(drift_json(report, labels), indent=2))
    else:
        print_drift(report, labels)
    for c in report.alarms:
        print(f"goldgate: DRIFT {c.name}: {c.measure} {c.test.effect:+.4g} over {c.threshold:g} "
              f"(p {c.p_adjusted:.2g} after Holm)", file=sys.stderr)
    return EXIT_ALERT if report.alarms else EXIT_OK


def _rows(store, flag: str, value: str, at: datetime):
    from evals.store.drift_samples import run_answers, traffic_between

    if value.startswith("run:"):
        store.run_record(value[4:])  # an unknown run is refused, naming it
        return run_answers(store, value[4:])
    if not (m := re.fullmatch(r"([^.]*)\.\.([^.]*)", value.strip())):
        raise UsageError(f"{flag}: {WINDOW_HELP}; got {value!r}")
    start, end = (_bound(flag, b, at) for b in m.groups())
    if start >= end:
        raise UsageError(f"{flag}: the window must start before it ends; got {value!r}")
    return traffic_between(store, start, end)


def _bound(flag: str, text: str, at: datetime) -> datetime:
    if not text:
        return at
    try:
        return at - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        return instant(text)
    except UsageError:
        raise UsageError(f"{flag}: {text!r} is neither an age such as 7d nor an ISO 8601 time") from None
