"""`goldgate dashboard`: the Streamlit app over the store, on loopback. The command becomes Streamlit's
server (exec, same process), so a supervisor's SIGTERM or a Ctrl-C reaches the server itself and frees
the port. (The app is found by its path, not imported: nothing imports the dashboard.)"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from evals.cli.common import add_db_option
from evals.errors import UsageError
from evals.resources import dashboard_app
from evals.settings import DB_VARIABLE, SLO_VARIABLE, Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("dashboard", help="open the dashboard over the store (read-only but for labelling)")
    add_db_option(p, settings)
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--slo", type=Path, metavar="FILE", help="SLOs (YAML) for the Overview's traffic lights and burn rates")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port: must be 1 to 65535, got {args.port}")
    if args.db.exists() and not args.db.is_file():
        raise UsageError(f"--db: {args.db} is not a DuckDB file")
    slo = {}
    if args.slo is not None:
        from evals.slo.spec import load_slos

        load_slos(args.slo)  # a bad file is refused here, in one line, not on a page
        slo = {SLO_VARIABLE: str(args.slo.resolve())}
    print(f"goldgate: dashboard on http://{args.host}:{args.port} over {args.db}", file=sys.stderr, flush=True)
    command = [sys.executable, "-m", "streamlit", "run", str(dashboard_app()), "--server.address", args.host,
               "--server.port", str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--global.developmentMode", "false"]
    os.execve(sys.executable, command, {**settings.environ, DB_VARIABLE: str(args.db.resolve()), **slo})
