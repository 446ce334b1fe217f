"""`goldgate serve`: the engine behind an OpenAI-compatible HTTP server."""

from __future__ import annotations

import argparse
import socket
import sys
import threading

import uvicorn

from engine import Engine
from engine.async_engine import AsyncEngine
from engine.engine import DEFAULT_MAX_BATCH
from engine.server.app import create_app
from evals.cli_generate import DTYPES, device_from_args
from evals.cli_models import pull_with_progress
from evals.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("serve", help="serve the engine over OpenAI's HTTP API")
    p.add_argument("--model", help="a known model name, a GGUF file or a safetensors folder (default: the default model)")
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on start)")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1 requests")
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="sequences decoded together")
    p.add_argument("--max-waiting", type=int, default=256, help="queued requests beyond which the server answers 503")
    p.add_argument("--kv-cache-tokens", type=int, help="KV cache size in tokens (default: by device memory)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--dtype", choices=["auto", *DTYPES], default="auto", help="auto: bfloat16 on CUDA, float32 on CPU")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: must be 0 to 65535, got {args.port}")
    if args.max_waiting < 1:
        raise UsageError(f"--max-waiting: must be at least 1, got {args.max_waiting}")
    if args.kv_cache_tokens is not None and args.kv_cache_tokens < 1:
        raise UsageError(f"--kv-cache-tokens: must be at least 1, got {args.kv_cache_tokens}")
    engine = Engine.load(pull_with_progress(args.model), device=device_from_args(args),
                         dtype=None if args.dtype == "auto" else DTYPES[args.dtype], max_batch_size=args.max_batch,
                         kv_cache_tokens=args.kv_cache_tokens)
    async_engine = AsyncEngine(engine, max_waiting=args.max_waiting)
    app = create_app(async_engine, api_key=args.api_key)
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
    try:
        async_engine.run()  # the steps stay on the thread that loaded the model (see AsyncEngine.run)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        async_engine.shutdown()
        http.join(timeout=10)
    return 0
