"""Real collectors on loopback for the telemetry integration tests: Arize Phoenix (an OTLP trace backend,
in its own virtual environment that `make` builds once and caches) and a Prometheus server (Debian's
package). Each is started as a subprocess on free ports and stopped after."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from tests.serving import stop

PHOENIX_PYTHON = "GOLDGATE_PHOENIX_PYTHON"  # set by `make test` to the Phoenix venv's python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{proc.args[0]} exited: {log.read_text()[-3000:]}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s: {log.read_text()[-3000:]}")


@contextmanager
def running(args: list[str], log: Path, ready_url: str, *, env: dict[str, str] | None = None,
            timeout: float = 120, cwd: Path | None = None) -> Iterator[None]:
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                cwd=cwd)
        try:
            wait_for(ready_url, proc, log, timeout)
            yield
        finally:
            stop(proc)


@dataclass(frozen=True)
class Phoenix:
    url: str  # the web and REST API, and OTLP over HTTP
    grpc: str  # OTLP over gRPC

    def spans(self, project: str) -> list[dict]:
        r = httpx.get(f"{self.url}/v1/projects/{project}/spans", params={"limit": 1000}, timeout=10)
        return r.json()["data"] if r.status_code == 200 else []


@contextmanager
def phoenix(folder: Path) -> Iterator[Phoenix]:
    python = os.environ.get(PHOENIX_PYTHON)
    assert python and Path(python).exists(), (
        f"{PHOENIX_PYTHON} must name the python of Phoenix's own virtual environment; `make test` builds it")
    http, grpc = free_port(), free_port()
    env = {"PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(http), "PHOENIX_GRPC_PORT": str(grpc),
           "PHOENIX_WORKING_DIR": str(folder / "phoenix"), "PHOENIX_TELEMETRY_ENABLED": "false"}
    with running([python, "-m", "phoenix.server.main", "serve"], folder / "phoenix.log",
                 f"http://127.0.0.1:{http}/healthz", env=env):
        yield Phoenix(f"http://127.0.0.1:{http}", f"http://127.0.0.1:{grpc}")


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, promql: str) -> list[dict]:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert body["status"] == "success", body
        return body["data"]["result"]


@contextmanager
def prometheus(folder: Path, target: str, *, scrape_interval_s: int = 1) -> Iterator[Prometheus]:
    """A Prometheus server scraping `target` (host:port) every `scrape_interval_s` seconds."""
    config = folder / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: {scrape_interval_s}s\n"
                      f"scrape_configs:\n  - job_name: goldgate\n    static_configs:\n"
                      f"      - targets: ['{target}']\n")
    port = free_port()
    with running(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
                  f"--web.listen-address=127.0.0.1:{port}"], folder / "prometheus.log",
                 f"http://127.0.0.1:{port}/-/ready"):
        yield Prometheus(f"http://127.0.0.1:{port}")
