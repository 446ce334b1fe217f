"""Does one huge request hold the server? While a client posts chat bodies back to back, `/health` and a
one-token chat request are each timed in a loop by clients of their own. Two loads: a body at the
4 MiB limit (refused by its length before it is tokenised) and a 1.2 MB body, under that bound, which
the tokenizer works on for about a second. Side by side in one process: the server as shipped
(templating and tokenising on a worker thread) and the same server with that work on its event loop,
as before. The ratio of `/health`'s worst latency under 4 MiB bodies to its worst when idle, as shipped,
is printed last (the target: under a second, whatever the load)."""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time

import httpx
import uvicorn

from engine import model_store
from engine.async_engine import AsyncEngine
from engine.engine import Engine
from engine.server.app import create_app
from engine.server.defaults import MAX_BODY_BYTES
from evals.settings import Settings
from telemetry import configure


LOADS = {"idle": 0, "4 MiB bodies (limit)": MAX_BODY_BYTES - 4096, "1.2 MB bodies": 1_200_000}


async def _on_the_loop(self: AsyncEngine, request, *, fit_max_tokens: bool = True):
    return self.submit(request, fit_max_tokens=fit_max_tokens)  # the way it was: on the event loop


def measure(url: str, model: str, seconds: float, body_bytes: int) -> tuple[float, float, float, float]:
    """Median and worst seconds of `/health` and of a one-token chat while bodies of `body_bytes` arrive
    back to back (none when 0)."""
    huge = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "word " * (body_bytes // 5)}]}
    stop = threading.Event()
    timings: dict[str, list[float]] = {"health": [], "chat": []}

    def load() -> None:
        with httpx.Client(timeout=120) as c:
            while not stop.is_set():
                c.post(f"{url}/v1/chat/completions", json=huge)

    def ask(name: str) -> None:
        with httpx.Client(timeout=120) as c:
            while not stop.is_set():
                start = time.perf_counter()
                if name == "health":
                    assert c.get(f"{url}/health").status_code == 200
                else:
                    assert c.post(f"{url}/v1/chat/completions", json={"model": model, "max_tokens": 1, "messages": [
                        {"role": "user", "content": "hi"}]}).status_code == 200
                timings[name].append(time.perf_counter() - start)
                time.sleep(0.05)

    threads = [threading.Thread(target=ask, args=(n,)) for n in timings]
    if body_bytes:
        threads.append(threading.Thread(target=load))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    h, c = timings["health"], timings["chat"]
    return statistics.median(h), max(h), statistics.median(c), max(c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=8.0, help="how long each case is measured")
    args = ap.parse_args()
    engine = Engine.load(model_store.pull(home=Settings.from_env().home), device="cpu", max_batch_size=4)
    tel = configure(env={})
    async_engine = AsyncEngine(engine)
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(async_engine, tel), log_level="error"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    url, results = f"http://127.0.0.1:{sock.getsockname()[1]}", {}

    def clients() -> None:
        try:
            while not server.started:
                time.sleep(0.05)
            shipped = AsyncEngine.submit_off_loop
            for variant in ("shipped", "loop"):
                AsyncEngine.submit_off_loop = shipped if variant == "shipped" else _on_the_loop
                results[variant] = {load: measure(url, engine.model_id, args.seconds, size) for load, size in LOADS.items()}
            AsyncEngine.submit_off_loop = shipped
        finally:
            server.should_exit = True
            async_engine.shutdown()

    threading.Thread(target=clients).start()
    async_engine.run()  # the steps on the thread that loaded the model, as `goldgate serve` runs them
    for variant, by_load in results.items():
        for load, (h50, hmax, c50, cmax) in by_load.items():
            print(f"{variant:8s} {load:22s} /health median {h50 * 1000:7.1f} ms, worst {hmax * 1000:7.1f} ms; "
                  f"one-token chat median {c50 * 1000:7.1f} ms, worst {cmax * 1000:7.1f} ms")
    shipped = results["shipped"]
    print(f"/health worst, 4 MiB bodies / idle (shipped): "
          f"{shipped['4 MiB bodies (limit)'][1] / shipped['idle'][1]:.1f}x")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
