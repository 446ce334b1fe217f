"""Single-stream greedy decode speed: goldgate's engine vs transformers `generate`, same weights.

Both load the same GGUF, decode the same prompt for exactly --tokens tokens (EOS ignored), and run
interleaved (transformers, engine, transformers, ...) so machine noise hits both alike. Decode
tokens/s excludes prefill: (tokens - 1) / (time of the whole call - time to the first token). Each
engine configuration (bench/engine_choices.py) runs beside transformers in float32, bfloat16 beside
bfloat16. `--contended` keeps one core busy with another process throughout, as a shared CI runner or laptop
does. The ratios engine / transformers are printed last, one a dtype.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

import torch
import transformers

from engine import GenerationRequest, SamplingParams, model_store
from engine.engine import Engine
from evals.settings import Settings

from engine_choices import CHOICES, anchor_dtype, load_choice

PROMPT = [{"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}]
class FirstTokenClock(transformers.generation.streamers.BaseStreamer):
    """Notes when transformers hands over its first generated token (the prompt arrives first)."""

    def __init__(self) -> None:
        self.calls, self.first_at = 0, 0.0

    def put(self, value) -> None:
        self.calls += 1
        if self.calls == 2:
            self.first_at = time.perf_counter()

    def end(self) -> None:
        pass


def transformers_decode_tps(model, ids: list[int], n: int, device: str) -> float:
    clock = FirstTokenClock()
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids], device=device), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                             streamer=clock, pad_token_id=0)
    end = time.perf_counter()
    assert out.shape[1] - len(ids) == n
    return (n - 1) / (end - clock.first_at)


def engine_decode_tps(engine: Engine, n: int) -> float:
    params = SamplingParams(temperature=0, max_tokens=n, ignore_eos=True)
    result = engine.generate([GenerationRequest(messages=tuple(PROMPT), params=params)])[0]
    assert result.usage.completion_tokens == n
    return (n - 1) / result.timings.decode_s


def spin() -> None:
    """Hold a core, as another job on a shared machine does."""
    while True:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", nargs="+", choices=list(CHOICES), default=["float32", "float32-dense", "int4"],
                    help="the engine's; transformers runs in float32 beside all but bfloat16 (it dequantises)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--contended", action="store_true", help="a busy process holds one core throughout")
    args = ap.parse_args()
    if args.tokens < 2 or args.repeats < 1:
        ap.error("--tokens must be at least 2 and --repeats at least 1")
    path = model_store.pull(home=Settings.from_env().home)
    engines = {d: load_choice(path, d, device=args.device) for d in args.dtype}
    refs = {}
    for a in {anchor_dtype(d) for d in args.dtype}:
        ref = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=a)
        refs[a] = ref.to(args.device).eval()
    ids = next(iter(engines.values())).tokenizer.encode(
        next(iter(engines.values())).tokenizer.chat_template.render(PROMPT))
    busy = multiprocessing.Process(target=spin, daemon=True) if args.contended else None
    if busy is not None:
        busy.start()
    try:
        for d in args.dtype:  # warm-up
            transformers_decode_tps(refs[anchor_dtype(d)], ids, 8, args.device)
            engine_decode_tps(engines[d], 8)
        hf = {d: [] for d in args.dtype}
        ours = {d: [] for d in args.dtype}
        for _ in range(args.repeats):
            for d in args.dtype:
                hf[d].append(transformers_decode_tps(refs[anchor_dtype(d)], ids, args.tokens, args.device))
                ours[d].append(engine_decode_tps(engines[d], args.tokens))
    finally:
        if busy is not None:
            busy.terminate()
    print(f"machine: {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}"
          f"{', one core held by a busy process' if args.contended else ''}")
    print(f"prompt {len(ids)} tokens, decode {args.tokens} tokens greedy, median of {args.repeats}")
    for d in args.dtype:
        runs = ", ".join(f"{x:.1f}" for x in hf[d])
        print(f"transformers generate ({str(anchor_dtype(d)).split('.')[-1]}): {statistics.median(hf[d]):6.1f} tok/s  (runs: {runs})")
        runs = ", ".join(f"{x:.1f}" for x in ours[d])
        print(f"goldgate engine ({d}):      {statistics.median(ours[d]):6.1f} tok/s  (runs: {runs})")
    for d in args.dtype:
        print(f"ratio engine {d}/transformers: {statistics.median(ours[d]) / statistics.median(hf[d]):.2f}x")


if __name__ == "__main__":
    main()
