"""Prefix caching: time to first token of a request whose 400-token prefix another request left in the
cache, against the same request on an engine that has never seen the prefix.

Two engines on the same weights. Each round makes a new prefix; the anchor is a request with it on the
engine that has never seen it, the cached run the same request on the other engine, right after a
request with the same prefix and another question. The two runs of a round are back to back, so
machine noise hits both alike; their outputs must be token-identical, checked every round. Prefill
time is the time to the first token less the time queued. The ratio cold / cached is printed last.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from engine import GenerationRequest, SamplingParams, model_store
from engine.engine import Engine
from evals.settings import Settings

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def shared_prefix(engine: Engine, tokens: int) -> str:
    """A system prompt of at least `tokens` tokens: a made-up inventory, one fact a sentence."""
    facts, i = [], 0
    while len(engine.tokenizer.encode(" ".join(facts))) < tokens:
        facts.append(f"Shelf {i} holds {i * 7 % 50} {['red', 'blue', 'green'][i % 3]} boxes.")
        i += 1
    return " ".join(facts)


def request(prefix: str, question: str) -> GenerationRequest:
    return GenerationRequest(messages=({"role": "system", "content": prefix}, {"role": "user", "content": question}),
                             params=SamplingParams(temperature=0, max_tokens=16))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", choices=list(DTYPES), default="float32")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--prefix-tokens", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if args.prefix_tokens < 16 or args.rounds < 1:
        ap.error("--prefix-tokens must be at least 16 (one block) and --rounds at least 1")
    path = model_store.pull(home=Settings.from_env().home)

    cold_engine = Engine.load(path, device=args.device, dtype=DTYPES[args.dtype])
    warm_engine = Engine.load(path, device=args.device, dtype=DTYPES[args.dtype])
    cold_s, warm_s, cached = [], [], 0
    for r in range(args.rounds):
        prefix = f"Inventory {r}. " + shared_prefix(cold_engine, args.prefix_tokens)  # new from its first block
        warm_engine.generate([request(prefix, "How many red boxes are on shelf 3?")])
        cold = cold_engine.generate([request(prefix, "Which shelf holds blue boxes?")])[0]
        warm = warm_engine.generate([request(prefix, "Which shelf holds blue boxes?")])[0]
        assert warm.token_ids == cold.token_ids, "a cached prefix changed the answer"
        assert cold.usage.cached_tokens == 0 < warm.usage.cached_tokens
        cached = warm.usage.cached_tokens
        cold_s.append(cold.timings.time_to_first_token_s - cold.timings.queue_s)
        warm_s.append(warm.timings.time_to_first_token_s - warm.timings.queue_s)
    cold_med, warm_med = statistics.median(cold_s), statistics.median(warm_s)
    print(f"machine: {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}, dtype {args.dtype}")
    print(f"prompt {cold.usage.prompt_tokens} tokens, {cached} of them cached; median of {args.rounds} rounds")
    print(f"prefill, cold engine:   {cold_med * 1e3:8.1f} ms  (runs: {', '.join(f'{x * 1e3:.1f}' for x in cold_s)})")
    print(f"prefill, cached prefix: {warm_med * 1e3:8.1f} ms  (runs: {', '.join(f'{x * 1e3:.1f}' for x in warm_s)})")
    print(f"ratio cold/cached prefill: {cold_med / warm_med:.2f}x")


if __name__ == "__main__":
    main()
