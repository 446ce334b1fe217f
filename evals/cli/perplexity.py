"""`goldgate perplexity`: a model's perplexity on a golden set's reference answers, each a continuation of its
question in the plain-text prompt the log-likelihood scorers use, with a 95% bootstrap CI over examples.
What a weight change (a quantisation, `--dtype int4`) does to the model before any answer is generated."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from evals.cli.common import add_placement_options, load_engine
from evals.errors import EvalInputError
from evals.settings import Settings


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("perplexity", help="perplexity of a model on a golden set's reference answers")
    p.add_argument("--dataset", type=Path, required=True, help="a golden set (JSONL); examples with an answer count")
    p.add_argument("--model", help="a known model name, a GGUF file or a safetensors folder (default: the default "
                   "model)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    add_placement_options(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from evals.golden.dataset import load_golden_set
    from evals.run.engine_backend import EngineBackend
    from evals.run.suite import SamplingConfig
    from evals.run.work import WorkItem
    from evals.scorers.choice_loglik import continuation
    from evals.stats.perplexity import corpus_perplexity

    golden = load_golden_set(args.dataset)
    items = [WorkItem(ex, 0, (), None, None, continuations=(continuation(ex, ex.expected.answer),))
             for ex in golden.examples if ex.expected.answer]
    if not items:
        raise EvalInputError("no example has an expected answer to score", file=args.dataset)
    engine = load_engine(args.model, settings, device=args.device, dtype=args.dtype)
    scored = EngineBackend(engine, SamplingConfig()).logliks(items)
    kept = [scored[id(i)][0] for i in items if id(i) in scored]
    if not kept:
        raise EvalInputError(f"every reference is longer than {engine.model_id}'s context window", file=args.dataset)
    result = corpus_perplexity([k.logprob for k in kept], [k.tokens for k in kept])
    tokens = sum(k.tokens for k in kept)
    figures = {"model": engine.model_id, "model_digest": engine.loaded.weights_sha256, "dataset": str(args.dataset),
               "dataset_sha256": golden.sha256, "examples": len(kept), "skipped": len(items) - len(kept),
               "tokens": tokens, "perplexity": result.estimate, "low": result.low, "high": result.high,
               "nll_per_token": math.log(result.estimate)}
    print(f"{engine.model_id} on {golden.name}: perplexity {result.estimate:.3f} "
          f"[{result.low:.3f}, {result.high:.3f}] (95% bootstrap CI), {len(kept)} references, {tokens} tokens"
          + (f"; {figures['skipped']} longer than the context window left out" if figures["skipped"] else ""))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0
