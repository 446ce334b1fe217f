"""`goldgate serve`: the engine behind an OpenAI-compatible HTTP server."""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

import uvicorn

from engine import Engine
from engine.async_engine import AsyncEngine
from engine.engine import DEFAULT_MAX_BATCH
from engine.server.app import create_app
from evals.cli_generate import DTYPES, device_from_args
from evals.cli_models import pull_with_progress
from evals.errors import UsageError
from evals.span_flusher import SpanFlusher
from evals.store.store import Store
from evals.telemetry_setup import configure_telemetry
from telemetry import Telemetry
from telemetry import shutdown as shutdown_telemetry
from telemetry.sinks import SpanRowBuffer


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("serve", help="serve the engine over OpenAI's HTTP API")
    p.add_argument("--model", help="a known model name, a GGUF file or a safetensors folder (default: the default model)")
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on start)")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1 requests")
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="sequences decoded together")
    p.add_argument("--max-waiting", type=int, default=256, help="queued requests beyond which the server answers 503")
    p.add_argument("--kv-cache-tokens", type=int, help="KV cache size in tokens (default: by device memory)")
    p.add_argument("--db", type=Path, help="also store every span in this DuckDB store (for the dashboard)")
    p.add_argument("--spans-jsonl", type=Path, metavar="PATH", help="also append every span to this file as JSON lines")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--dtype", choices=["auto", *DTYPES], default="auto", help="auto: bfloat16 on CUDA, float32 on CPU")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    _check_flags(args)
    rows = SpanRowBuffer() if args.db else None
    tel = configure_telemetry(service_name="goldgate-serve", prometheus=True, span_rows=rows,
                              jsonl_path=args.spans_jsonl)
    try:
        _serve(args, tel, rows)
    finally:
        shutdown_telemetry()  # flushes the last spans to the collector
    return 0


def _check_flags(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: must be 0 to 65535, got {args.port}")
    if args.max_waiting < 1:
        raise UsageError(f"--max-waiting: must be at least 1, got {args.max_waiting}")
    if args.kv_cache_tokens is not None and args.kv_cache_tokens < 1:
        raise UsageError(f"--kv-cache-tokens: must be at least 1, got {args.kv_cache_tokens}")
    if args.db:
        with Store(args.db).write():  # an unusable store stops us now, before the model loads
            pass


def _serve(args: argparse.Namespace, tel: Telemetry, rows: SpanRowBuffer | None) -> None:
    engine = Engine.load(pull_with_progress(args.model), device=device_from_args(args),
                         dtype=None if args.dtype == "auto" else DTYPES[args.dtype], max_batch_size=args.max_batch,
                         kv_cache_tokens=args.kv_cache_tokens, telemetry=tel)
    async_engine = AsyncEngine(engine, max_waiting=args.max_waiting)
    app = create_app(async_engine, tel, api_key=args.api_key)
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as e:
        raise UsageError(f"--host/--port: cannot bind {args.host}:{args.port}: {e.strerror}") from None
    host, port = sock.getsockname()[:2]
    print(f"goldgate: serving {engine.model_id} on http://{host}:{port}/v1 "
          f"({engine.kv_cache_tokens} KV cache tokens, up to {args.max_batch} sequences at once)",
          file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    http = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="goldgate-http", daemon=True)
    http.start()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stop from a supervisor also drains and flushes
    with SpanFlusher(Store(args.db), rows) if rows is not None else nullcontext():
        try:
            async_engine.run()  # the steps stay on the thread that loaded the model (see AsyncEngine.run)
        except KeyboardInterrupt:
            pass
        finally:
            server.should_exit = True
            async_engine.shutdown()
            http.join(timeout=10)
