"""`goldgate models pull|list`: the local model cache."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from engine import model_store


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="fetch and list cached models")
    sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    pull = sub.add_parser("pull", help="download a known model into the cache and verify it")
    pull.add_argument("name", nargs="?", default=model_store.DEFAULT_MODEL.name, choices=sorted(model_store.KNOWN_MODELS))
    pull.set_defaults(handler=run_pull)
    listing = sub.add_parser("list", help="show the models in the cache")
    listing.set_defaults(handler=run_list)


def pull_with_progress(name: str | None = None) -> str:
    """Resolve a model argument, showing a progress bar while a known model is extracted."""
    console = Console(stderr=True)
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"extracting {name or model_store.DEFAULT_MODEL.name}", total=None)
        return str(model_store.resolve(name, progress=lambda done, total: bar.update(task, completed=done, total=total)))


def run_pull(args: argparse.Namespace) -> int:
    path = pull_with_progress(args.name)
    print(f"{args.name}: {path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    cached = model_store.list_cached()
    if not cached:
        print(f"no models in {model_store.goldgate_home() / 'models'}; run: goldgate models pull")
        return 0
    table = Table("name", "size", "verified", "path")
    for m in cached:
        table.add_row(m.name, f"{m.size_bytes / 1e6:.1f} MB", "yes" if m.verified else "no (not a pinned model)", str(m.path))
    Console().print(table)
    return 0
