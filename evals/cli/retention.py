"""`goldgate store prune|forget|audit`: bounded retention of stored spans and captured content, forgetting
one user, and the audit log of content reads and deletions. Prune and forget count what they would
remove and change nothing unless given --yes; results, scores and run summaries are never touched."""

from __future__ import annotations

import argparse
from datetime import timedelta

from evals.cli.common import add_db_option, existing_store
from evals.errors import UsageError
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    store = commands.add_parser("store", help="prune old spans and content, forget a user, read the audit log")
    sub = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    prune = sub.add_parser("prune", help="delete spans, or strip their captured content, past an age")
    prune.add_argument("--spans-older-than", metavar="AGE", help="delete spans older than this (e.g. 30d)")
    prune.add_argument("--content-older-than", metavar="AGE", help="strip captured content older than this (e.g. 7d)")
    forget = sub.add_parser("forget", help="delete every span of one user's requests")
    forget.add_argument("--user", required=True, metavar="HASH", help="the user's goldgate.user.hash")
    audit = sub.add_parser("audit", help="list every content read and deletion")
    for p, handler in ((prune, handle_prune), (forget, handle_forget), (audit, handle_audit)):
        add_db_option(p, settings)
        if p is not audit:
            p.add_argument("--yes", action="store_true", help="do it (without: only count what would go)")
        p.set_defaults(handler=handler)


def _age(flag: str, value: str | None) -> timedelta | None:
    from evals.durations import parse_duration

    if value is None:
        return None
    try:
        return timedelta(seconds=parse_duration(value))
    except ValueError as e:
        raise UsageError(f"{flag}: {e}") from None


def handle_prune(args: argparse.Namespace, settings: Settings) -> int:
    from evals.store import retention
    from evals.store.store import now

    spans, content = _age("--spans-older-than", args.spans_older_than), _age("--content-older-than",
                                                                          args.content_older_than)
    if spans is None and content is None:
        raise UsageError("--spans-older-than or --content-older-than: give at least one")
    at, store = now(), existing_store(args.db)
    cutoffs = (at - spans if spans else None, at - content if content else None)
    if args.yes:
        n_spans, n_content = retention.prune(store, *cutoffs, actor="goldgate store prune")
    else:
        n_spans, n_content = retention.prune_counts(store, *cutoffs)
    verb = "deleted" if args.yes else "would delete"
    print(f"{verb} {n_spans} spans; {'stripped' if args.yes else 'would strip'} content from {n_content} more"
          + ("" if args.yes else " (dry run: add --yes)"))
    return 0


def handle_forget(args: argparse.Namespace, settings: Settings) -> int:
    from evals.store import retention

    store = existing_store(args.db)
    if args.yes:
        print(f"deleted {retention.forget(store, args.user, actor='goldgate store forget')} spans of user {args.user}")
    else:
        print(f"would delete {retention.forget_count(store, args.user)} spans of user {args.user} (dry run: add --yes)")
    return 0


def handle_audit(args: argparse.Namespace, settings: Settings) -> int:
    from evals.store import retention
    from evals.store.store import Store

    for at, actor, action, target, spans in retention.audit_log(Store(args.db)):
        print(f"{at:%Y-%m-%dT%H:%M:%S}Z\t{action}\t{actor}\t{target}\t{spans} spans")
    return 0
