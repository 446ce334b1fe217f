"""Replicas of one model behind OpenAI-compatible endpoints: requests go to the live replica with the
fewest in flight, and a circuit breaker per replica (09 §14.5) takes one out of rotation after
BREAK_AFTER failures in a row (a refused or dropped connection, a timeout, a 5xx) until its health
check (`GET /models`) answers again. Only when every replica has been out for `fail_after_s` does the
run stop, naming each replica and its last error; what was answered by then is stored, and `--resume`
finishes the rest."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Collection

from evals.errors import EvalInputError
from evals.run.chat_client import ChatClient

BREAK_AFTER = 3  # failures in a row that take a replica out of rotation
PROBE_EVERY_S = 0.5  # how often a replica out of rotation is asked whether it is back


def say(line: str) -> None:
    print(f"goldgate: {line}", file=sys.stderr, flush=True)


@dataclass(eq=False)
class Replica:
    url: str
    client: ChatClient  # retrying nothing itself: failing over is the pool's job
    in_flight: int = 0
    answered: int = 0
    failures: int = 0  # in a row
    out_since: float | None = None  # when the breaker took it out of rotation
    reported: bool = False  # that it is still out, said once per outage (a run hands its work over in parts)
    last_error: str | None = None

    def describe(self) -> str:
        return f"{self.url} (answered {self.answered}; last error: {self.last_error})"


class ReplicaPool:
    """Shared by the worker threads of one backend; `healthy(replica)` is its health check."""

    def __init__(self, replicas: list[Replica], healthy: Callable[[Replica], bool], fail_after_s: float) -> None:
        self.replicas, self.healthy, self.fail_after_s = replicas, healthy, fail_after_s
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None
        self._down: EvalInputError | None = None

    def __enter__(self) -> ReplicaPool:
        self._stop.clear()
        self._down = None  # a backend is reused (a judge's, call after call): each use starts with a live pool
        self._prober = threading.Thread(target=self._probe, name="goldgate-replica-probe", daemon=True)
        self._prober.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._prober.join()
        for r in self.replicas:
            if r.out_since is not None and self._down is None and not r.reported:
                r.reported = True
                say(f"replica {r.describe()} is still out of rotation")

    def acquire(self, tried: Collection[Replica] = ()) -> Replica:
        """The live replica with the fewest in flight, preferring one this request has not failed on;
        waits while every replica is out, and raises once they have all been out for `fail_after_s`."""
        with self._changed:
            while True:
                if self._down is not None:
                    raise self._down
                live = [r for r in self.replicas if r.out_since is None]
                if live:
                    replica = min(live, key=lambda r: (r in tried, r.in_flight))
                    replica.in_flight += 1
                    return replica
                if time.monotonic() - max(r.out_since for r in self.replicas) >= self.fail_after_s:
                    self._down = EvalInputError(
                        f"every replica is down (out of rotation for {self.fail_after_s:g} s): "
                        + "; ".join(r.describe() for r in self.replicas), field="endpoint")
                    raise self._down
                self._changed.wait(PROBE_EVERY_S)

    def release(self, replica: Replica, failure: str | None = None) -> None:
        """`failure`: what went wrong when it says the replica is unwell; None when the replica answered
        (even with a refusal such as a 400, which is about the request)."""
        with self._changed:
            replica.in_flight -= 1
            if failure is None:
                replica.answered, replica.failures = replica.answered + 1, 0
                return
            replica.failures, replica.last_error = replica.failures + 1, failure
            if replica.failures >= BREAK_AFTER and replica.out_since is None:
                replica.out_since = time.monotonic()
                say(f"replica {replica.url} out of rotation after {replica.failures} failures in a row ({failure})")

    def _probe(self) -> None:
        while not self._stop.wait(PROBE_EVERY_S):
            for replica in [r for r in self.replicas if r.out_since is not None]:
                if self.healthy(replica):
                    with self._changed:
                        replica.out_since, replica.failures, replica.reported = None, 0, False
                        self._changed.notify_all()
                    say(f"replica {replica.url} answers its health check: back in rotation")
