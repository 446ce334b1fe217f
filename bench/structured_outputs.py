"""What structured outputs cost the requests beside them: time per token of eight unconstrained requests
in a batch of sixteen, whose other eight are unconstrained too (the anchor) or JSON-schema-constrained (the
same batch size: the difference is the masks' cost), and the constrained requests' own time per token.

One engine, rounds alternating the two batches so machine noise hits both alike. Every request decodes
exactly --tokens tokens (EOS ignored for the unconstrained; the constrained schema is long enough not to
end first, and a round whose constrained answers end early is reported). The ratio of the unconstrained
requests' time per token, beside constrained over beside unconstrained, is printed last.
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch

from engine import GenerationRequest, SamplingParams, model_store
from engine.engine import Engine
from evals.settings import Settings

SCHEMA = json.dumps({"type": "object", "additionalProperties": False, "required": ["notes"],
                     "properties": {"notes": {"type": "array", "minItems": 64, "items": {
                         "type": "object", "additionalProperties": False, "required": ["topic", "mood"],
                         "properties": {"topic": {"type": "string", "maxLength": 24},
                                        "mood": {"enum": ["calm", "busy", "odd"]}}}}}})


def requests(n: int, tokens: int, constrained: bool) -> list[GenerationRequest]:
    params = SamplingParams(temperature=0, max_tokens=tokens, ignore_eos=not constrained,
                            json_schema=SCHEMA if constrained else None)
    return [GenerationRequest(messages=({"role": "user", "content": f"Write notes about day {i} as JSON."},),
                              params=params) for i in range(n)]


def per_token_s(results) -> float:
    """Median over requests of decode time per token after the first."""
    return statistics.median(r.timings.decode_s / max(r.usage.completion_tokens - 1, 1) for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.tokens < 2 or args.rounds < 1:
        ap.error("--tokens must be at least 2 and --rounds at least 1")
    engine = Engine.load(model_store.pull(home=Settings.from_env().home), device=args.device,
                         dtype=torch.float32, max_batch_size=16)
    engine.generate(requests(2, 4, True) + requests(2, 4, False))  # warm-up, and the vocabulary read for masks
    alone, mixed, constrained, short = [], [], [], 0  # alone: beside unconstrained ones
    for _ in range(args.rounds):
        alone.append(per_token_s(engine.generate(requests(16, args.tokens, False))[:8]))
        results = engine.generate(requests(8, args.tokens, False) + requests(8, args.tokens, True))
        mixed.append(per_token_s(results[:8]))
        constrained.append(per_token_s(results[8:]))
        short += sum(r.usage.completion_tokens < args.tokens for r in results[8:])
    a, m, c = (statistics.median(x) * 1e3 for x in (alone, mixed, constrained))
    print(f"machine: {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}, float32")
    print(f"{args.tokens} tokens a request, median of {args.rounds} rounds; constrained answers that ended early: "
          f"{short}")
    runs = {name: ", ".join(f"{x * 1e3:.2f}" for x in xs) for name, xs in (("alone", alone), ("mixed", mixed))}
    print(f"8 unconstrained beside 8 unconstrained: {a:7.2f} ms/token  (runs: {runs['alone']})")
    print(f"8 unconstrained beside 8 constrained:   {m:7.2f} ms/token  (runs: {runs['mixed']})")
    print(f"8 constrained beside 8 unconstrained:   {c:7.2f} ms/token")
    print(f"ratio unconstrained beside constrained/beside unconstrained: {m / a:.2f}x")


if __name__ == "__main__":
    main()
