"""The engine core: a step is schedule, execute, update. Requests and cancellations arrive from any
thread through an inbox that only the stepping thread drains, so the scheduler needs no locks."""

from __future__ import annotations

import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from engine.kv_blocks import BlockManager
from engine.model_runner import ModelRunner
from engine.scheduler import Scheduler
from engine.sequence import Sequence


@dataclass(frozen=True)
class EngineStats:
    """The engine's state for /metrics and the load tests."""

    running: int
    waiting: int
    kv_blocks_used: int
    kv_blocks_free: int
    preemptions_total: int
    kv_blocks_cached: int = 0  # of the free blocks, those holding a cached prefix
    prefix_cache_queries_total: int = 0  # prompt tokens admitted
    prefix_cache_hits_total: int = 0  # of them, those found in the prefix cache

    @property
    def kv_cache_usage(self) -> float:
        return self.kv_blocks_used / max(self.kv_blocks_used + self.kv_blocks_free, 1)


# Told of each sequence as it finishes, before its sink (telemetry writes its span here)
FinishHook = Callable[[Sequence], None]


class EngineCore:
    def __init__(self, runner: ModelRunner, blocks: BlockManager, eos_ids: frozenset[int], *,
                 max_running: int, token_budget: int, on_finish: FinishHook | None = None) -> None:
        self.runner = runner
        self.blocks = blocks
        self.scheduler = Scheduler(blocks, max_running=max_running, token_budget=token_budget)
        self.eos_ids = eos_ids
        self.on_finish = on_finish
        self._inbox: queue.SimpleQueue[tuple[str, Sequence]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._step_lock = threading.Lock()
        self._live: set[Sequence] = set()  # submitted and not yet finished, inbox included
        self._preemptions = 0

    def add(self, seq: Sequence) -> None:
        self._live.add(seq)
        self._inbox.put(("add", seq))
        self._wake.set()

    def cancel(self, seq: Sequence) -> None:
        """Stop `seq` at the next step and free its blocks; its sink hears finished with reason 'cancelled'."""
        self._inbox.put(("cancel", seq))
        self._wake.set()

    def cancel_all(self) -> None:
        for seq in list(self._live):
            self.cancel(seq)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No step runs while this is held; submissions queue up (for maintenance, and for tests that need a
        queue to stay put)."""
        with self._step_lock:
            yield

    def step(self) -> bool:
        """Run one step; False when there was nothing to do."""
        with self._step_lock:
            self._drain_inbox()
            plan = self.scheduler.schedule()
            self._preemptions += len(plan.preempted)
            if not plan.chunks:
                return False
            started = time.perf_counter()
            for chunk in plan.chunks:
                chunk.seq.started = chunk.seq.started or started
            sampled = self.runner.execute(plan.chunks)
            now = time.perf_counter()
            per_token = (now - started) / sum(c.end - c.start for c in plan.chunks)
            for i, chunk in enumerate(plan.chunks):
                seq = chunk.seq
                self.scheduler.computed(chunk)
                seq.engine_s += per_token * (chunk.end - chunk.start)
                if i in sampled:
                    delta = seq.append(*sampled[i], eos_ids=self.eos_ids, now=now)
                    if seq.finish_reason is not None:
                        self._finish(seq, delta)
                    elif delta:
                        seq.sink(seq, delta, False)
            return True

    def wait_for_work(self, timeout: float) -> None:
        """Block until something is submitted or cancelled (or `timeout` seconds pass)."""
        self._wake.wait(timeout)
        self._wake.clear()

    def fail_all(self, error: BaseException) -> None:
        """A step raised: end every live sequence with `error` rather than leave its caller waiting."""
        with self._step_lock:
            self._drain_inbox()
            for seq in list(self._live):
                seq.error = f"{type(error).__name__}: {error}"
                self._finish(seq, "")

    def stats(self) -> EngineStats:
        usage = self.blocks.usage()
        running = len(self.scheduler.running)
        return EngineStats(running=running, waiting=max(len(self._live) - running, 0), kv_blocks_used=usage.used,
                           kv_blocks_free=usage.free, preemptions_total=self._preemptions,
                           kv_blocks_cached=usage.cached, prefix_cache_queries_total=self.scheduler.prefix_queries,
                           prefix_cache_hits_total=self.scheduler.prefix_hits)

    def _drain_inbox(self) -> None:
        while True:
            try:
                what, seq = self._inbox.get_nowait()
            except queue.Empty:
                return
            if what == "add" and seq.finish_reason is None:
                self.scheduler.add(seq)
            elif what == "cancel" and seq in self._live:
                seq.finish_reason = "cancelled"
                self._finish(seq, "")

    def _finish(self, seq: Sequence, delta: str) -> None:
        self.scheduler.remove(seq)
        self._live.discard(seq)
        if self.on_finish is not None:
            self.on_finish(seq)
        seq.sink(seq, delta, True)
