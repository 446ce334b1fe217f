"""`goldgate sampling collector-config`: a tail-sampling policy as an OpenTelemetry Collector config, so
a team exporting OTLP to its Collector samples exactly as `goldgate serve --sampling` does."""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.cli.common import print_or_write
from evals.cli.exit_codes import EXIT_OK
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    sampling = commands.add_parser("sampling", help="tail-sampling policies: the same policy for a Collector")
    sub = sampling.add_subparsers(dest="sampling_command", required=True, metavar="ACTION")
    p = sub.add_parser("collector-config", help="write an OpenTelemetry Collector config applying the policy")
    p.add_argument("--policy", type=Path, required=True, metavar="FILE", help="the sampling policy (YAML)")
    p.add_argument("--backend", default="${env:BACKEND_OTLP_ENDPOINT}", metavar="URL",
                   help="where the Collector sends kept traces over OTLP/HTTP (default: %(default)s)")
    p.add_argument("--out", type=Path, metavar="PATH", help="the config file to write (default: print it)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from evals.run.sampling import collector_config_yaml, load_sampling_policy

    policy = load_sampling_policy(args.policy)
    print_or_write(collector_config_yaml(policy, str(args.policy), backend=args.backend), args.out)
    return EXIT_OK
