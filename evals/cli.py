"""`goldgate`: one parser, one place that turns bad input into a one-line message and exit code 2."""

from __future__ import annotations

import argparse
import sys

from engine.errors import EngineError
from evals import (cli_calibrate, cli_compare, cli_dashboard, cli_datasets, cli_generate, cli_models, cli_run, cli_runs,
                   cli_serve)
from evals.errors import EvalInputError, UsageError
from evals.exit_codes import EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goldgate", description="Evals and observability on goldgate's own engine.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_generate.register(commands)
    cli_models.register(commands)
    cli_run.register(commands)
    cli_datasets.register(commands)
    cli_runs.register(commands)
    cli_calibrate.register(commands)
    cli_compare.register(commands)
    cli_serve.register(commands)
    cli_dashboard.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # argparse itself exits 2 on usage errors
    try:
        return args.handler(args)
    except (EngineError, EvalInputError, UsageError) as e:
        print(f"goldgate: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
