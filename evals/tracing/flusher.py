"""Spans of a long-running process (`goldgate serve --db`) written to the store every few seconds, in
short transactions, so a dashboard reading the same file is never locked out for long."""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from telemetry.sinks import SpanRecord, SpanRowBuffer

FLUSH_EVERY_S = 2.0


class SpanFlusher:
    def __init__(self, write: Callable[[Sequence[SpanRecord]], None], rows: SpanRowBuffer,
                 every_s: float = FLUSH_EVERY_S) -> None:
        self.write, self.rows, self.every_s = write, rows, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="goldgate-spans", daemon=True)

    def __enter__(self) -> "SpanFlusher":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()

    def flush(self) -> None:
        rows = self.rows.drain()
        if rows:
            self.write(rows)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.flush()
