"""`goldgate slo report|check|rules`: SLOs with error budgets and burn rates from the store's spans, a check
that exits 1 while a burn-rate alert holds (for a cron job or a CI step that pages), and the same SLOs
as Prometheus rules."""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.cli.common import add_db_option, existing_store, instant, print_or_write
from evals.cli.exit_codes import EXIT_ALERT, EXIT_OK
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    slo = commands.add_parser("slo", help="SLOs: error budgets and burn rates, alert checks, Prometheus rules")
    sub = slo.add_subparsers(dest="slo_command", required=True, metavar="ACTION")
    report = sub.add_parser("report", help="each SLO's SLI, error budget left and burn rates")
    check = sub.add_parser("check", help="exit 1 while any burn-rate alert holds, 0 otherwise")
    for p, handler in ((report, handle_report), (check, handle_check)):
        p.add_argument("--slo", type=Path, required=True, metavar="FILE", help="the SLOs (YAML)")
        add_db_option(p, settings)
        p.add_argument("--at", metavar="TIME", help="evaluate at this ISO 8601 time instead of now (UTC if no zone)")
        p.add_argument("--json", action="store_true", help="print the status as JSON")
        p.set_defaults(handler=handler)
    rules = sub.add_parser("rules", help="write Prometheus recording and alerting rules for the SLOs")
    rules.add_argument("--slo", type=Path, required=True, metavar="FILE", help="the SLOs (YAML)")
    rules.add_argument("--out", type=Path, metavar="PATH", help="the rules file to write (default: print it)")
    rules.set_defaults(handler=handle_rules)


def _statuses(args: argparse.Namespace) -> list:
    import json

    from evals.render.slo import print_status, status_json
    from evals.slo.spec import load_slos
    from evals.slo.status import slo_status
    at, slos = instant(args.at), load_slos(args.slo)
    store = existing_store(args.db)  # a missing store is an error, not a quiet report of no traffic
    statuses = slo_status(store, slos, at)
    if args.json:
        print(json.dumps({"at": at.isoformat() + "Z", "slos": status_json(statuses)}, indent=2))
    else:
        print_status(statuses)
    return statuses


def handle_report(args: argparse.Namespace, settings: Settings) -> int:
    _statuses(args)
    return EXIT_OK


def handle_check(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    firing = [(s.objective.name, a) for s in _statuses(args) for a in s.firing]
    for name, a in firing:
        print(f"goldgate: ALERT ({a.alert.severity}) {name}: burning {a.long_burn:.1f}x over {a.alert.name} "
              f"(both windows over {a.alert.burn_rate:g}x)", file=sys.stderr)
    return EXIT_ALERT if firing else EXIT_OK


def handle_rules(args: argparse.Namespace, settings: Settings) -> int:
    from evals.slo.rules import rules_yaml
    from evals.slo.spec import load_slos

    print_or_write(rules_yaml(load_slos(args.slo)), args.out)
    return EXIT_OK
