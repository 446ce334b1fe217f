"""`goldgate`: the composition root. One parser; each command's module builds its part of it with light
imports and wires the parts together in its handler; one place turns bad input into a one-line message
and exit code 2, and a defect of goldgate into exit code 3. Settings are read from the environment here,
once, and handed down."""

from __future__ import annotations

import argparse
import sys
import traceback

from evals.cli import (ab, calibrate, challenge, compare, dashboard, datasets, drift, gate, generate, models,
                       perplexity, replay, retention, run, runs, sampling, serve, slo)
from evals.cli.exit_codes import EXIT_BAD_INPUT, EXIT_DEFECT, EXIT_INTERRUPTED
from evals.errors import BAD_INPUT
from evals.settings import Settings

COMMANDS = (generate, models, run, datasets, runs, calibrate, compare, gate, perplexity, slo, drift, replay, challenge,
            ab, serve, sampling, retention, dashboard)


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goldgate", description="Evals and observability on goldgate's own engine.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands, settings)
    return parser


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    settings = settings or Settings.from_env()
    args = build_parser(settings).parse_args(argv)  # argparse itself exits 2 on usage errors
    try:
        return args.handler(args, settings)
    except BAD_INPUT as e:
        print(f"goldgate: error: {' '.join(str(e).splitlines())}", file=sys.stderr)  # one line, always
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception:  # a defect of goldgate itself: never exit 1, which CI reads as a failed gate
        traceback.print_exc()
        print(f"goldgate: internal error (exit {EXIT_DEFECT}): this is a bug in goldgate, not in your input; "
              "please report it with the traceback above", file=sys.stderr)
        return EXIT_DEFECT
