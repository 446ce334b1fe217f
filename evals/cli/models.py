"""`goldgate models pull|list`: the local model cache."""

from __future__ import annotations

import argparse

from engine import model_store
from evals.cli.common import model_path
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    models = commands.add_parser("models", help="fetch and list cached models")
    sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    pull = sub.add_parser("pull", help="download a known model into the cache and verify it")
    pull.add_argument("name", nargs="?", default=model_store.DEFAULT_MODEL.name, choices=sorted(model_store.KNOWN_MODELS))
    pull.set_defaults(handler=handle_pull)
    listing = sub.add_parser("list", help="show the models in the cache")
    listing.set_defaults(handler=handle_list)


def handle_pull(args: argparse.Namespace, settings: Settings) -> int:
    print(f"{args.name}: {model_path(args.name, settings)}")
    return 0


def handle_list(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    cached = model_store.list_cached(settings.home)
    if not cached:
        print(f"no models in {settings.home / 'models'}; run: goldgate models pull")
        return 0
    table = Table("name", "size", "verified", "path")
    for m in cached:
        table.add_row(m.name, f"{m.size_bytes / 1e6:.1f} MB", "yes" if m.verified else "no (not a pinned model)", str(m.path))
    Console().print(table)
    return 0
