"""Telemetry overhead: engine throughput with telemetry fully on (a span per generation with content
captured and redacted, every metric, OTLP over HTTP to a local receiver in its own process) and off,
in one run on the same loaded weights; the ratio on / off is printed last. Target: at least 0.97.

Two workloads, each alternated off/on for --rounds rounds (the median counts, as the machine is noisy):
one stream decoding --tokens tokens, and --batch concurrent requests of --tokens tokens each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

from engine import GenerationRequest, SamplingParams, model_store
from engine.engine import Engine
from engine.loader import load_model
from evals.settings import Settings

# A stand-in collector: accepts OTLP/HTTP posts and throws them away (answering as a collector does)
RECEIVER = """
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0"); self.end_headers()
        sys.stdout.write("x"); sys.stdout.flush()
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def tokens_per_s(engine: Engine, n: int, tokens: int) -> float:
    params = SamplingParams(temperature=0, max_tokens=tokens, ignore_eos=True)
    requests = [GenerationRequest(messages=({"role": "user", "content": f"Tell me about the number {i}."},),
                                  params=params) for i in range(n)]
    start = time.perf_counter()
    results = engine.generate(requests)
    assert all(r.usage.completion_tokens == tokens for r in results)
    return n * tokens / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    torch.manual_seed(0)

    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    port = int(receiver.stdout.readline())
    os.environ.update({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                       "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_METRIC_EXPORT_INTERVAL": "5000",
                       "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_AND_EVENT"})
    import telemetry  # configured from the variables just set

    tel = telemetry.configure(env=os.environ, service_name="goldgate-bench", prometheus=True)
    loaded = load_model(model_store.pull(home=Settings.from_env().home), device="cpu", dtype=torch.float32)
    off = Engine(loaded, max_batch_size=args.batch, kv_cache_tokens=args.batch * 256)
    on = Engine(loaded, max_batch_size=args.batch, kv_cache_tokens=args.batch * 256, telemetry=tel)
    tokens_per_s(off, 2, 8)  # warm up both paths
    tokens_per_s(on, 2, 8)

    ratios = []
    print(f"device cpu, {torch.get_num_threads()} threads, {args.tokens} tokens per request, median of {args.rounds}")
    for name, n in (("1 stream", 1), (f"{args.batch} concurrent", args.batch)):
        rates: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            rates["off"].append(tokens_per_s(off, n, args.tokens))
            rates["on"].append(tokens_per_s(on, n, args.tokens))
        off_tps, on_tps = statistics.median(rates["off"]), statistics.median(rates["on"])
        ratios.append(on_tps / off_tps)
        print(f"{name:>14}: telemetry off {off_tps:7.1f} tok/s, on {on_tps:7.1f} tok/s, on/off {on_tps / off_tps:.3f}")
    telemetry.shutdown()  # flushes the last spans and metrics to the receiver
    receiver.terminate()
    posts = receiver.communicate()[0].count("x")
    assert posts > 0, "the receiver got no OTLP export"
    print(f"OTLP exports received: {posts}")
    print(f"ratio on/off (worst workload): {min(ratios):.3f}")


if __name__ == "__main__":
    main()
