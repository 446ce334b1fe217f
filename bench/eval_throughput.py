"""Wall time of a golden set through the harness vs a plain sequential loop of transformers `generate`.

The harness side is everything `goldgate run` does after the model is loaded: the whole set
submitted to the engine at once (continuous batching), scoring, storing every row in a fresh
DuckDB file and the bootstrap report. The baseline only generates: one `generate` call per
example, greedy, the same prompt token ids and the same `max_tokens`, and no scoring at all.
Model loading is excluded from both. The ratio baseline / harness is printed last.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import transformers

from engine import model_store
from engine.engine import Engine
from evals.analysis.report import build_summary
from evals.golden.dataset import load_golden_set
from evals.run.engine_backend import EngineBackend
from evals.run.record import new_run_id, run_record
from evals.golden.subset import Subset
from evals.run.runner import RunTarget, execute
from evals.run.suite import load_suite
from evals.settings import Settings
from evals.store.results import create_run, finish_run
from evals.store.store import Store

SUITE = Path(__file__).resolve().parent.parent / "datasets" / "general-v1" / "suite.yaml"


def harness_seconds(engine: Engine, suite_path: Path, limit: int | None, db: Path) -> tuple[float, dict[str, str]]:
    start = time.perf_counter()
    suite = load_suite(suite_path)
    golden = load_golden_set(suite.dataset)
    examples = Subset(limit).select(golden)
    backend = EngineBackend(engine, suite.sampling)
    store, run_id = Store(db), new_run_id(suite.name)
    create_run(store, run_record(run_id, suite, golden, len(examples), Subset(limit), tag="bench",
                                 model_id=backend.model_id, model_digest=backend.model_digest, endpoint=None))
    execute(store, RunTarget(run_id, suite, golden, examples, suite.build_scorers(), backend))
    finish_run(store, run_id, build_summary(store, run_id))
    elapsed = time.perf_counter() - start
    with store.read() as con:
        outputs = dict(con.execute("SELECT example_id, output FROM results WHERE run_id = ?", [run_id]).fetchall())
    return elapsed, outputs


def transformers_seconds(model, engine: Engine, suite_path: Path, limit: int | None) -> tuple[float, dict[str, str]]:
    suite = load_suite(suite_path)
    examples = Subset(limit).select(load_golden_set(suite.dataset))
    tok = engine.tokenizer
    outputs = {}
    start = time.perf_counter()
    with torch.inference_mode():
        for ex in examples:
            ids = tok.encode(tok.chat_template.render(suite.prompt.messages(ex)))
            out = model.generate(torch.tensor([ids]), max_new_tokens=suite.sampling.max_tokens, do_sample=False,
                                 eos_token_id=sorted(tok.eos_ids), pad_token_id=0)
            outputs[ex.id] = tok.decode([t for t in out[0, len(ids):].tolist() if t not in tok.eos_ids])
    return time.perf_counter() - start, outputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", type=Path, default=SUITE)
    ap.add_argument("--limit", type=int, help="only the first N examples (a quick look; the figure is the whole set)")
    args = ap.parse_args()
    path = model_store.pull(home=Settings.from_env().home)
    engine = Engine.load(path, device="cpu", dtype=torch.float32, max_batch_size=load_suite(args.suite).concurrency)
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    hf = hf.eval()
    with tempfile.TemporaryDirectory() as tmp:
        ours, our_out = harness_seconds(engine, args.suite, args.limit, Path(tmp) / "bench.duckdb")
    theirs, their_out = transformers_seconds(hf, engine, args.suite, args.limit)
    same = sum(our_out[k].strip() == their_out[k].strip() for k in their_out)
    print(f"machine: cpu, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, float32")
    print(f"{len(their_out)} examples of {args.suite.parent.name}; identical answers: {same}/{len(their_out)}")
    print(f"transformers generate, sequential: {theirs:7.1f} s")
    print(f"goldgate harness (batched, scored, stored): {ours:7.1f} s")
    print(f"ratio transformers/harness: {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
