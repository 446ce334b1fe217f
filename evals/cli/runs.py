"""`goldgate runs list|show|export|import`: the stored runs, and Parquet in and out of the store."""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.cli.common import add_db_option
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    runs = commands.add_parser("runs", help="list, show, export and import stored runs")
    add_db_option(runs, settings)
    sub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="every run in the store")
    listing.set_defaults(handler=handle_list)
    show = sub.add_parser("show", help="the report of a finished run")
    show.add_argument("run_id")
    show.set_defaults(handler=handle_show)
    export = sub.add_parser("export", help="write a run as Parquet files (one per table) and a manifest")
    export.add_argument("run_id")
    export.add_argument("--out", type=Path, required=True, help="the folder to write")
    export.set_defaults(handler=handle_export)
    imp = sub.add_parser("import", help="read a run exported with `runs export` (by any older goldgate) into the store")
    imp.add_argument("folder", type=Path)
    imp.set_defaults(handler=handle_import)
    for action in (listing, show, export, imp):
        add_db_option(action, settings, inherited=True)


def handle_list(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from evals.store.store import Store

    table = Table("run", "tag", "status", "dataset", "sha256", "model", "started (UTC)")
    for r in Store(args.db).list_runs():
        table.add_row(r["run_id"], r["tag"] or "", r["status"], r["dataset_name"], r["dataset_sha256"][:12],
                      r["model_id"], f"{r['started_at']:%Y-%m-%d %H:%M:%S}")
    Console().print(table)
    return 0


def handle_show(args: argparse.Namespace, settings: Settings) -> int:
    from evals.render.report import print_report
    from evals.store.store import Store

    record = Store(args.db).run_record(args.run_id)
    if record["summary"] is None:
        print(f"{args.run_id} is still {record['status']}; finish it with: goldgate run --resume {args.run_id}")
        return 0
    print_report(record["summary"])
    return 0


def handle_export(args: argparse.Namespace, settings: Settings) -> int:
    """Captured content leaving the store is a read of it: recorded in the audit log before it is written."""
    from evals.store.retention import content_spans, record_content_read
    from evals.store.store import Store

    store = Store(args.db)
    store.run_record(args.run_id)  # an unknown run is refused before anything is recorded
    with store.write():  # an older store gains the audit log
        pass
    if n := content_spans(store, "run_id = $run", {"run": args.run_id}):
        record_content_read(store, "goldgate runs export", args.run_id, n)
    for path in store.export_run(args.run_id, args.out):
        print(path)
    return 0


def handle_import(args: argparse.Namespace, settings: Settings) -> int:
    from evals.store.store import Store

    print(f"imported {Store(args.db).import_run(args.folder)} into {args.db}")
    return 0
