"""`goldgate generate`: one chat turn on the engine, printed whole or streamed token by token."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine import GenerationRequest, InvalidRequestError, SamplingParams
from evals.cli.common import add_placement_options, configure_telemetry, load_engine
from evals.settings import Settings

if TYPE_CHECKING:
    from telemetry import Telemetry


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("generate", help="answer one prompt with the engine")
    p.add_argument("prompt", help="the user message")
    p.add_argument("--system", help="a system message (replaces the model's default one)")
    p.add_argument("--model", help="a known model name, a GGUF file or a safetensors folder (default: the default model)")
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=0.0, help="0 is greedy (the default)")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0, help="0 turns it off")
    p.add_argument("--seed", type=int)
    p.add_argument("--stop", action="append", default=[], help="a stop string (repeatable)")
    p.add_argument("--stream", action="store_true", help="print tokens as they are generated")
    add_placement_options(p)
    p.add_argument("-v", "--verbose", action="store_true", help="print token counts and timings to stderr")
    p.add_argument("--spans-jsonl", type=Path, metavar="PATH", help="also append the generation's span to this file")
    p.set_defaults(handler=handle)


def sampling_from_args(args: argparse.Namespace) -> SamplingParams:
    try:
        return SamplingParams(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, seed=args.seed,
                              max_tokens=args.max_tokens, stop=tuple(args.stop))
    except InvalidRequestError as e:
        raise InvalidRequestError.for_field(f"--{e.field.replace('_', '-')}", e.detail) from None


def handle(args: argparse.Namespace, settings: Settings) -> int:
    """The generation is a span like any other (to the collector `OTEL_*` names, or `--spans-jsonl`)."""
    params = sampling_from_args(args)
    tel = configure_telemetry(settings, service_name="goldgate-generate", jsonl_path=args.spans_jsonl)
    try:
        _generate(args, settings, params, tel)
    finally:
        tel.shutdown()
    return 0


def _generate(args: argparse.Namespace, settings: Settings, params: SamplingParams, tel: Telemetry) -> None:
    engine = load_engine(args.model, settings, device=args.device, dtype=args.dtype, telemetry=tel)
    messages = ({"role": "system", "content": args.system},) if args.system else ()
    request = GenerationRequest(messages=(*messages, {"role": "user", "content": args.prompt}), params=params)
    if args.stream:
        for chunk in engine.stream(request):
            print(chunk.text, end="", flush=True)
            result = chunk.result
        print()
    else:
        result = engine.generate([request])[0]
        print(result.text)
    if args.verbose:
        t, u = result.timings, result.usage
        print(f"[{u.prompt_tokens} prompt + {u.completion_tokens} completion tokens, finish {result.finish_reason}, "
              f"first token {t.time_to_first_token_s * 1000:.0f} ms, "
              f"{1 / max(t.time_per_output_token_s(u.completion_tokens), 1e-9):.1f} tok/s]", file=sys.stderr)
