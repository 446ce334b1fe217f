"""The examples of a run spread over a Ray cluster (`goldgate run --ray ADDRESS`).

One actor per GPU where the model runs on the engine and the cluster has GPUs, else one per CPU; each
builds its own backend (an engine replica, or endpoint clients) and streams its completions back with the
spans it finished. The driver alone writes the store, so a run on Ray is stored, resumed, compared and
gated exactly as one without it. Work goes out in chunks that idle actors pull, so a slow actor gets less.
Ray is an optional extra (`pip install 'goldgate[ray]'`); nothing imports it unless `--ray` is given.
"""

from __future__ import annotations

import collections
import queue
import threading
import warnings
from typing import Any, Callable, Iterator, Sequence

from evals.errors import BAD_INPUT, EvalInputError
from evals.run.replicas import say
from evals.run.work import Backend, Completion, WorkItem
from telemetry.sinks import SpanRecord, SpanRowBuffer

CHUNK = 32  # work items an actor takes at a time: small enough to balance, large enough to batch
BackendFactory = Callable[[SpanRowBuffer], Backend]  # a backend whose spans go to the buffer given


class RayWorker:
    """Lives in an actor: its own backend, and the spans it finished since its last answer."""

    def __init__(self, make: BackendFactory) -> None:
        self.rows, self.problem = SpanRowBuffer(), None
        try:
            self.backend = make(self.rows)
        except BAD_INPUT as e:  # e.g. a model this node cannot load: `identity` hands it to the driver
            self.problem = e

    def identity(self) -> tuple[str, str | None, str | None] | Exception:
        """The backend's model id, weights digest and endpoint; or the bad input that stopped it, returned
        rather than raised, so that the driver raises it as the CLI's one-line error."""
        if self.problem is not None:
            return self.problem
        return self.backend.model_id, self.backend.model_digest, self.backend.endpoint

    def complete(self, items: Sequence[WorkItem]) -> Iterator[tuple[list[Completion], list[SpanRecord]]]:
        if self.problem is not None:  # an actor other than the first, on a node that cannot load the model
            raise self.problem
        for group in self.backend.complete(items):
            yield group, self.rows.drain()


class RayBackend:
    """A Backend whose `complete` runs on the cluster's actors; `span_rows` is the driver's span buffer,
    which the actors' spans join on their way to the store."""

    def __init__(self, address: str, make: BackendFactory, *, on_engine: bool, span_rows: SpanRowBuffer) -> None:
        ray = _ray(address)
        resources = ray.cluster_resources()
        per = "GPU" if on_engine and resources.get("GPU", 0) >= 1 else "CPU"
        count = int(resources.get(per, 0))
        if count < 1:
            raise EvalInputError(f"the Ray cluster at {address} has no {per} to run an actor on", field="--ray")
        actor = ray.remote(num_gpus=1 if per == "GPU" else 0, num_cpus=1 if per == "CPU" else 0)(RayWorker)
        self._ray, self.span_rows = ray, span_rows
        self.actors = [actor.remote(make) for _ in range(count)]
        identity = ray.get(self.actors[0].identity.remote())
        if isinstance(identity, Exception):
            raise identity
        self.model_id, self.model_digest, self.endpoint = identity
        say(f"ray: {count} actors, one per {per}, on the cluster at {address}")

    def complete(self, items: Sequence[WorkItem]) -> Iterator[list[Completion]]:
        chunks = collections.deque(items[i:i + CHUNK] for i in range(0, len(items), CHUNK))
        arrived: queue.Queue[list[Completion] | BaseException | None] = queue.Queue()
        answered = [0] * len(self.actors)
        stop = threading.Event()

        def feed(n: int, actor: Any) -> None:
            try:
                while not stop.is_set():
                    try:
                        chunk = chunks.popleft()
                    except IndexError:
                        break
                    for ref in actor.complete.options(num_returns="streaming").remote(chunk):
                        group, spans = self._ray.get(ref)
                        self.span_rows.add(spans)
                        answered[n] += len(group)
                        arrived.put(group)
                arrived.put(None)
            except self._ray.exceptions.RayTaskError as e:
                arrived.put(_cause(e))
            except self._ray.exceptions.RayError as e:  # an actor or its node died: what arrived is stored
                arrived.put(EvalInputError(f"actor {n} failed ({type(e).__name__}: {str(e).splitlines()[0]}); "
                                           "--resume finishes the run", field="--ray"))
            except BaseException as e:  # anything else is raised in the driver as it was
                arrived.put(e)

        feeders = [threading.Thread(target=feed, args=(n, a), daemon=True) for n, a in enumerate(self.actors)]
        for t in feeders:
            t.start()
        try:
            for _ in feeders:
                while (got := arrived.get()) is not None:
                    if isinstance(got, BaseException):
                        raise got
                    yield got
        finally:
            stop.set()
            say("ray: " + ", ".join(f"actor {n} answered {k}" for n, k in enumerate(answered)))


def _cause(e: Any) -> BaseException:
    """What an actor raised: bad input as itself (exit 2 naming its field), a defect as Ray's error, which
    carries the actor's traceback for the report."""
    return e.cause if isinstance(e.cause, BAD_INPUT) else e


def _ray(address: str) -> Any:
    """Ray, connected to the cluster at `address` (`auto`: the one this machine belongs to)."""
    if not address.strip():
        raise EvalInputError("give the cluster's address (host:port, ray://host:port) or auto", field="--ray")
    try:
        import ray
    except ImportError:
        raise EvalInputError("needs Ray, an optional extra: pip install 'goldgate[ray]'", field="--ray") from None
    if not ray.is_initialized():
        try:
            with warnings.catch_warnings():  # Ray's client warns, then raises, of the same timeout: say it once
                warnings.simplefilter("ignore")
                ray.init(address=address, logging_level="WARNING", log_to_driver=True)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise EvalInputError(f"cannot join a Ray cluster at {address!r}: {e}", field="--ray") from None
    return ray
