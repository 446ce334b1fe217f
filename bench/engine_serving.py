"""Serving throughput: output tokens/s at 1, 8, 32 and 64 concurrent requests, and 64 eval-like requests of
mixed output lengths through the engine vs transformers static batches of 32, same weights and dtype.

Concurrency runs through the asynchronous API as `goldgate serve` drives it (steps on the thread that
loaded the model, clients on an event loop in another), N requests submitted at once, each decoding exactly --tokens tokens greedily (EOS ignored); each rate is printed as a ratio to
one stream. The mixed workload is the first 64 prompts of general-v1, greedy, up to --max-tokens with
EOS ending each answer where the model ends it: the engine takes all 64 at once (continuous batching,
32 running), transformers `generate` takes them in two static batches of 32, left-padded, each batch
running until its longest answer ends. Both get the same prompt token ids; answers are compared.
The ratio transformers / engine is printed last, for each dtype.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from pathlib import Path

import torch
import transformers

from engine import GenerationRequest, SamplingParams, model_store
from engine.async_engine import AsyncEngine
from engine.engine import Engine
from evals.golden.dataset import load_golden_set
from evals.run.suite import load_suite
from evals.settings import Settings

from engine_choices import CHOICES, anchor_dtype, load_choice

SUITE = Path(__file__).resolve().parent.parent / "datasets" / "general-v1" / "suite.yaml"
TOPICS = ["the sea", "a cat", "rain", "Paris", "bread", "a robot", "the moon", "music"]
STATIC_BATCH = 32


def concurrent_tps(engine: Engine, n: int, tokens: int) -> float:
    """Output tokens/s of `n` requests submitted at once. The steps run on this thread, which loaded the
    model, as in `goldgate serve`; the clients' event loop runs on another."""
    params = SamplingParams(temperature=0, max_tokens=tokens, ignore_eos=True)
    requests = [GenerationRequest(messages=({"role": "user", "content": f"Tell a story about {TOPICS[i % 8]}, {i}."},),
                                  params=params) for i in range(n)]
    async_engine = AsyncEngine(engine)
    rate: list[float] = []

    async def clients() -> None:
        start = time.perf_counter()
        results = await asyncio.gather(*(async_engine.generate(r) for r in requests))
        assert all(r.usage.completion_tokens == tokens for r in results)
        rate.append(n * tokens / (time.perf_counter() - start))

    def client_thread() -> None:
        try:
            asyncio.run(clients())
        finally:
            async_engine.shutdown()

    thread = threading.Thread(target=client_thread)
    thread.start()
    async_engine.run()
    thread.join()
    return rate[0]


def eval_prompts(engine: Engine, n: int) -> list[str]:
    """The first `n` general-v1 prompts, rendered with the chat template (special tokens included)."""
    suite = load_suite(SUITE)
    examples = load_golden_set(suite.dataset).examples[:n]
    return [engine.tokenizer.chat_template.render(suite.prompt.messages(ex)) for ex in examples]


def engine_mixed(engine: Engine, prompts: list[str], max_tokens: int) -> tuple[float, list[list[int]]]:
    params = SamplingParams(temperature=0, max_tokens=max_tokens)
    requests = [GenerationRequest(prompt=p, params=params) for p in prompts]
    start = time.perf_counter()
    results = engine.generate(requests)
    return time.perf_counter() - start, [list(r.token_ids) for r in results]


def transformers_mixed(model, prompts: list[list[int]], max_tokens: int, eos: list[int]) -> tuple[float, list[list[int]]]:
    outputs = []
    start = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(prompts), STATIC_BATCH):
            batch = prompts[b:b + STATIC_BATCH]
            width = max(len(p) for p in batch)
            ids = torch.tensor([[0] * (width - len(p)) + p for p in batch])  # left padding
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch])
            out = model.generate(ids, attention_mask=mask, max_new_tokens=max_tokens, do_sample=False,
                                 eos_token_id=eos, pad_token_id=0)
            for row in out[:, width:].tolist():
                cut = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))  # keep the EOS, as the engine does
                outputs.append(row[:cut])
    return time.perf_counter() - start, outputs


def run(path: Path, dtype_name: str, tokens: int, max_tokens: int) -> None:
    engine = load_choice(path, dtype_name, max_batch_size=64)
    engine.generate([GenerationRequest(prompt="warm up", params=SamplingParams(max_tokens=4))])
    print(f"\n== {dtype_name}: concurrent requests, {tokens} output tokens each ==")
    params = SamplingParams(temperature=0, max_tokens=tokens, ignore_eos=True)
    start = time.perf_counter()
    engine.generate([GenerationRequest(messages=({"role": "user", "content": "Tell a story about rain."},), params=params)])
    print(f"(synchronous API, one request, for reference: {tokens / (time.perf_counter() - start):.1f} output tok/s)")
    rates = {}
    for n in (1, 8, 32, 64):
        rates[n] = concurrent_tps(engine, n, tokens)
        print(f"{n:3d} concurrent: {rates[n]:7.1f} output tok/s   {rates[n] / rates[1]:5.2f}x single-stream", flush=True)

    print(f"\n== {dtype_name}: 64 eval requests (general-v1), mixed output lengths, up to {max_tokens} tokens ==")
    engine32 = Engine(engine.loaded, max_batch_size=STATIC_BATCH)
    prompts = eval_prompts(engine32, 64)
    prompt_ids = [engine32.tokenizer.encode(p) for p in prompts]
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                      dtype=anchor_dtype(dtype_name)).eval()
    eos = sorted(engine32.tokenizer.eos_ids)
    theirs, their_out = transformers_mixed(hf, prompt_ids, max_tokens, eos)
    ours, our_out = engine_mixed(engine32, prompts, max_tokens)
    lengths = sorted(len(o) for o in our_out)
    same = sum(a == b for a, b in zip(our_out, their_out))
    print(f"output lengths: min {lengths[0]}, median {lengths[32]}, max {lengths[-1]}; identical answers {same}/64")
    print(f"transformers, static batches of {STATIC_BATCH}: {theirs:7.1f} s")
    print(f"goldgate engine, continuous batching:   {ours:7.1f} s")
    print(f"ratio transformers/engine ({dtype_name}): {theirs / ours:.2f}x", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", nargs="+", choices=list(CHOICES), default=["float32", "float32-dense"],
                    help="engine configurations (bench/engine_choices.py), each against transformers")
    ap.add_argument("--tokens", type=int, default=128, help="output tokens per request in the concurrency runs")
    ap.add_argument("--max-tokens", type=int, default=128, help="the cap on each answer in the mixed workload")
    args = ap.parse_args()
    path = model_store.pull(home=Settings.from_env().home)
    print(f"machine: cpu, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"transformers {transformers.__version__}")
    for name in args.dtype:
        run(path, name, args.tokens, args.max_tokens)


if __name__ == "__main__":
    main()
