"""The asynchronous API: submit a request, stream its text as it is produced, cancel it.

One thread drives the engine's steps (`run`, or `start` for a background thread), another runs the
event loop; the model releases the GIL in its kernels, so both progress. Results cross back to the
event loop through `call_soon_threadsafe`. A stream that is abandoned (its task cancelled, its client gone) cancels its
request, which frees the request's KV blocks at the next step.
"""

from __future__ import annotations

import asyncio
import threading
from typing import AsyncIterator

from engine.core import EngineCore
from engine.engine import Engine, StreamChunk
from engine.errors import EngineError
from engine.request import GenerationRequest, GenerationResult, TokenLogprob
from engine.sequence import Sequence, Sink

IDLE_WAIT_S = 0.5  # how often an idle loop looks for a stop request
Event = tuple[str, bool, tuple[TokenLogprob, ...]]  # new text, finished, log probabilities of the new tokens


class QueueFullError(EngineError):
    """Too many requests are waiting; the caller should retry later."""

    def __init__(self, waiting: int, limit: int) -> None:
        super().__init__(f"{waiting} requests are waiting, the limit is {limit}; retry later")


class EngineFailedError(RuntimeError):
    """The engine hit an internal error while this request was live."""


class RequestStream:
    """One submitted request: iterate it for its chunks (the last carries the result), or cancel it."""

    def __init__(self, core: EngineCore, seq: Sequence, events: asyncio.Queue[Event]) -> None:
        self._core, self.seq, self._events = core, seq, events

    async def __aiter__(self) -> AsyncIterator[StreamChunk]:
        try:
            while True:
                text, finished, logprobs = await self._events.get()
                if text or logprobs:
                    yield StreamChunk(text, logprobs=logprobs)
                if finished:
                    if self.seq.error is not None:
                        raise EngineFailedError(self.seq.error)
                    yield StreamChunk("", self.seq.result())
                    return
        finally:
            self.cancel()

    async def result(self) -> GenerationResult:
        async for chunk in self:
            if chunk.result is not None:
                return chunk.result
        raise AssertionError("a stream always ends with its result")

    def cancel(self) -> None:
        """Stop generating and free the KV blocks (a no-op once finished)."""
        if self.seq.finish_reason is None:
            self._core.cancel(self.seq)


class AsyncEngine:
    def __init__(self, engine: Engine, *, max_waiting: int = 256) -> None:
        self.engine = engine
        self.max_waiting = max_waiting
        self._preparing = 0  # admitted, still being tokenized off the loop: they will be waiting in a moment
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "AsyncEngine":
        """Drive the steps from a background thread, for callers that own the main thread."""
        self._thread = threading.Thread(target=self.run, name="goldgate-engine", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Drive the steps on this thread until `shutdown()`. On the CPU, call it from the thread that loaded
        the model: a second thread running torch gets a second OpenMP team, and with more OpenMP threads
        than cores libgomp stops spin-waiting, which cost a third of single-stream speed here."""
        core = self.engine.core
        while not self._stop.is_set():
            try:
                if not core.step():
                    core.wait_for_work(IDLE_WAIT_S)
            except Exception as error:  # noqa: BLE001 - every live request hears of it; the loop goes on
                core.fail_all(error)

    def shutdown(self) -> None:
        self._stop.set()
        self.engine.core.cancel_all()
        if self._thread is not None:
            self._thread.join()

    def submit(self, request: GenerationRequest, *, fit_max_tokens: bool = True) -> RequestStream:
        """Queue `request`; raises InvalidRequestError or QueueFullError at once, before anything runs.
        With `fit_max_tokens` False, a max_tokens that does not fit the context window is an error
        (OpenAI's behaviour) rather than cut to fit."""
        self._check_queue()
        sink, events = self._sink()
        return self._queued(self.engine.prepare(request, sink, fit_max_tokens=fit_max_tokens), events)

    async def submit_off_loop(self, request: GenerationRequest, *, fit_max_tokens: bool = True,
                              after: Sequence | None = None) -> RequestStream:
        """`submit`, with the chat template and the tokenizer run on a worker thread: a huge prompt keeps
        that thread busy, never the event loop that answers every other client. `after`: a sequence with
        the same prompt, whose prefill this one's waits for (`Engine.prepare`)."""
        self._check_queue()
        sink, events = self._sink()
        self._preparing += 1  # counted at once, so a burst that arrives together cannot overfill the queue
        try:
            seq = await asyncio.to_thread(self.engine.prepare, request, sink, fit_max_tokens=fit_max_tokens,
                                          after=after)
        finally:
            self._preparing -= 1
        return self._queued(seq, events)

    def _check_queue(self) -> None:
        waiting = self.engine.stats().waiting + self._preparing
        if waiting >= self.max_waiting:
            raise QueueFullError(waiting, self.max_waiting)

    def _sink(self) -> tuple[Sink, asyncio.Queue[Event]]:
        """Where the engine thread leaves a request's text (and the log probabilities of the tokens since
        the last call, when asked): the caller's event loop, thread-safely."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event] = asyncio.Queue()
        sent = 0

        def sink(seq: Sequence, text: str, finished: bool) -> None:
            nonlocal sent
            new, sent = tuple(seq.logprobs[sent:]), len(seq.logprobs)
            try:
                loop.call_soon_threadsafe(events.put_nowait, (text, finished, new))
            except RuntimeError:  # the caller's loop is closed: nobody is listening
                pass
        return sink, events

    def _queued(self, seq: Sequence, events: asyncio.Queue[Event]) -> RequestStream:
        self.engine.core.add(seq)
        return RequestStream(self.engine.core, seq, events)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        return await self.submit(request).result()
