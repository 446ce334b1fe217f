"""`goldgate dashboard` stopped by a supervisor's SIGTERM takes its Streamlit server with it: the port
is free again, and no process is left behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.collectors import free_port, wait_for


def test_sigterm_stops_the_dashboard_and_frees_its_port(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "dashboard.log"
    goldgate = Path(sys.executable).with_name("goldgate")
    with open(log, "w") as out:
        proc = subprocess.Popen([str(goldgate), "dashboard", "--db", str(tmp_path / "gg.duckdb"), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/_stcore/health", proc, log, timeout=60)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) is not None
        finally:
            proc.kill()
    with socket.socket() as s:  # nothing holds the port any more
        s.bind(("127.0.0.1", port))
