"""`goldgate serve`: the engine behind an OpenAI-compatible HTTP server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.placement import DEFAULT_MAX_BATCH
from engine.server.defaults import MAX_BODY_BYTES
from evals.cli.common import add_placement_options, configure_telemetry, load_engine
from evals.errors import UsageError
from evals.settings import Settings

if TYPE_CHECKING:
    from telemetry import Telemetry
    from telemetry.sinks import SpanRowBuffer


def register(commands: argparse._SubParsersAction, settings: Settings) -> None:
    p = commands.add_parser("serve", help="serve the engine over OpenAI's HTTP API")
    p.add_argument("--model", help="a known model name, a GGUF file or a safetensors folder (default: the default model)")
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on start)")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1 requests")
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="sequences decoded together")
    p.add_argument("--max-waiting", type=int, default=256, help="queued requests beyond which the server answers 503")
    p.add_argument("--kv-cache-tokens", type=int, help="KV cache size in tokens (default: by device memory)")
    p.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES,
                   help="request bodies over this are answered 413 (default: %(default)s)")
    p.add_argument("--prices", type=Path, metavar="FILE", help="a price table (YAML) that prices the served model: "
                   "every generation span and the cost counter carry its cost")
    p.add_argument("--sampling", type=Path, metavar="FILE", help="tail-sample traces by this policy (YAML, the "
                   "OpenTelemetry Collector's tail_sampling shape) before the store, the JSONL file and OTLP see them")
    p.add_argument("--db", type=Path, help="also store every span in this DuckDB store (for the dashboard)")
    p.add_argument("--spans-jsonl", type=Path, metavar="PATH", help="also append every span to this file as JSON lines")
    add_placement_options(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from telemetry.sinks import SpanRowBuffer

    from evals.run.prices import load_prices
    from evals.run.sampling import load_sampling_policy

    _check_flags(args)
    rows = SpanRowBuffer() if args.db else None
    tel = configure_telemetry(settings, service_name="goldgate-serve", prometheus=True, span_rows=rows,
                              jsonl_path=args.spans_jsonl, prices=load_prices(args.prices) if args.prices else None,
                              sampling=load_sampling_policy(args.sampling) if args.sampling else None)
    try:
        _serve(args, settings, tel, rows)
    finally:
        tel.shutdown()  # flushes the last spans to the collector
    return 0


def _check_flags(args: argparse.Namespace) -> None:
    from evals.store.store import Store

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: must be 0 to 65535, got {args.port}")
    if args.max_waiting < 1:
        raise UsageError(f"--max-waiting: must be at least 1, got {args.max_waiting}")
    if args.max_body_bytes < 1:
        raise UsageError(f"--max-body-bytes: must be at least 1, got {args.max_body_bytes}")
    if args.kv_cache_tokens is not None and args.kv_cache_tokens < 1:
        raise UsageError(f"--kv-cache-tokens: must be at least 1, got {args.kv_cache_tokens}")
    if args.db:
        with Store(args.db).write():  # an unusable store stops us now, before the model loads
            pass


def _serve(args: argparse.Namespace, settings: Settings, tel: Telemetry, rows: SpanRowBuffer | None) -> None:
    import signal
    import socket
    import threading
    from contextlib import nullcontext
    from functools import partial

    import uvicorn

    from engine.async_engine import AsyncEngine
    from engine.server.app import create_app
    from evals.run.prices import check_priced
    from evals.store.spans import write_spans
    from evals.store.store import Store
    from evals.tracing.flusher import SpanFlusher

    engine = load_engine(args.model, settings, device=args.device, dtype=args.dtype, max_batch_size=args.max_batch,
                         kv_cache_tokens=args.kv_cache_tokens, telemetry=tel)
    check_priced(tel.prices, args.prices, engine.model_id)
    async_engine = AsyncEngine(engine, max_waiting=args.max_waiting)
    app = create_app(async_engine, tel, api_key=args.api_key, max_body_bytes=args.max_body_bytes,
                     user_salt=settings.user_salt())
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
    flusher = SpanFlusher(partial(write_spans, Store(args.db)), rows) if rows is not None else nullcontext()
    with flusher:
        try:
            async_engine.run()  # the steps stay on the thread that loaded the model (see AsyncEngine.run)
        except KeyboardInterrupt:
            pass
        finally:
            server.should_exit = True
            async_engine.shutdown()
            http.join(timeout=10)
