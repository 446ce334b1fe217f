"""Servers on loopback for tests: the app in a thread (tiny models), or `goldgate serve` as a process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import openai
import uvicorn

from engine.async_engine import AsyncEngine
from engine.engine import Engine
from engine.server.app import create_app
from telemetry import Telemetry
from tests.telemetry_helpers import MemoryTelemetry


@contextmanager
def app_in_thread(engine: AsyncEngine, telemetry: Telemetry, **app_options: Any) -> Iterator[str]:
    """Serve `engine` on a free loopback port, its steps and the HTTP server each on a background thread;
    yields the base URL."""
    engine.start()
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(engine, telemetry, **app_options), log_level="warning",
                                           log_config=None))  # no handlers bound to a test's captured stderr
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        engine.shutdown()


@contextmanager
def goldgate_serve(*args: str, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `goldgate serve --port 0 ARGS` as its own process (with `env` added to the environment); yields
    the base URL it prints. Leaving stops it with SIGTERM, which it handles by draining and flushing."""
    goldgate = Path(sys.executable).parent / "goldgate"
    with open(log, "w+") as out:
        proc = subprocess.Popen([str(goldgate), "serve", "--port", "0", *args], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        try:
            url = _wait_for_url(proc, log)
            yield url
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, and SIGKILL if `proc` has not exited within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait_for_url(proc: subprocess.Popen, log: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"on (http://127\.0\.0\.1:\d+)/v1", log.read_text())
        if found:
            url = found.group(1)
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        assert proc.poll() is None, f"goldgate serve exited: {log.read_text()}"
        time.sleep(0.2)
    raise AssertionError(f"goldgate serve did not come up in {timeout} s: {log.read_text()}")


def engine_gauges(url: str) -> dict[str, float]:
    """The goldgate_engine_* samples of /metrics, by metric name."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(goldgate_engine_\w+)\{[^}]*\} (\S+)$", text, re.M)}


def wait_until_idle(url: str, timeout: float = 60) -> dict[str, float]:
    """Poll /metrics until nothing runs or waits; the gauges then."""
    deadline = time.monotonic() + timeout
    while True:
        gauges = engine_gauges(url)
        if gauges["goldgate_engine_requests_running"] == 0 and gauges["goldgate_engine_requests_waiting"] == 0:
            return gauges
        assert time.monotonic() < deadline, f"the engine did not drain in {timeout} s: {gauges}"
        time.sleep(0.2)


@dataclass(frozen=True)
class Served:
    """An engine behind the app on loopback, with the official SDK's client and the telemetry it writes to."""

    client: openai.OpenAI
    engine: Engine
    memory: MemoryTelemetry
    url: str


@contextmanager
def served_engine(path: Path, *, max_waiting: int = 16, **engine_options: Any) -> Iterator[Served]:
    """`path` loaded on the CPU (with `engine_options`) and served by `app_in_thread`."""
    memory = MemoryTelemetry()
    engine = Engine.load(path, device="cpu", telemetry=memory.tel, **engine_options)
    with app_in_thread(AsyncEngine(engine, max_waiting=max_waiting), memory.tel) as url:
        yield Served(openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=120), engine, memory,
                     url)
