"""Single-stream greedy decode speed: goldgate's engine vs transformers `generate`, same weights and dtype.

Both load the same GGUF, decode the same prompt for exactly --tokens tokens (EOS ignored), and run
interleaved (transformers, engine, transformers, ...) so machine noise hits both alike. Decode
tokens/s excludes prefill: (tokens - 1) / (time of the whole call - time to the first token).
The ratio engine / transformers is printed last.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import transformers

from engine import GenerationRequest, SamplingParams, model_store
from engine.engine import Engine
from evals.settings import Settings

PROMPT = [{"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", choices=list(DTYPES), default="float32")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    dtype, path = DTYPES[args.dtype], model_store.pull(home=Settings.from_env().home)

    engine = Engine.load(path, device=args.device, dtype=dtype)
    ref = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=dtype)
    ref = ref.to(args.device).eval()
    ids = engine.tokenizer.encode(engine.tokenizer.chat_template.render(PROMPT))

    transformers_decode_tps(ref, ids, 8, args.device)  # warm-up both
    engine_decode_tps(engine, 8)
    hf, ours = [], []
    for _ in range(args.repeats):
        hf.append(transformers_decode_tps(ref, ids, args.tokens, args.device))
        ours.append(engine_decode_tps(engine, args.tokens))
    hf_tps, our_tps = statistics.median(hf), statistics.median(ours)
    print(f"machine: {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}, dtype {args.dtype}")
    print(f"prompt {len(ids)} tokens, decode {args.tokens} tokens greedy, median of {args.repeats}")
    print(f"transformers generate: {hf_tps:6.1f} tok/s  (runs: {', '.join(f'{x:.1f}' for x in hf)})")
    print(f"goldgate engine:       {our_tps:6.1f} tok/s  (runs: {', '.join(f'{x:.1f}' for x in ours)})")
    print(f"ratio engine/transformers: {our_tps / hf_tps:.2f}x")


if __name__ == "__main__":
    main()
