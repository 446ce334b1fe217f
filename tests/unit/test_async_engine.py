"""The asynchronous API on a tiny model: streams match the synchronous engine, cancelling frees the
request's blocks, a full queue is refused, preemption changes no tokens."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine import GenerationRequest, SamplingParams
from engine.async_engine import AsyncEngine, EngineFailedError, QueueFullError
from engine.engine import Engine


def request(prompt: str, n: int = 12) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, params=SamplingParams(temperature=0, max_tokens=n, ignore_eos=True))


def wait_idle(engine: Engine, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while engine.stats().running or engine.stats().waiting:
        assert time.monotonic() < deadline, engine.stats()
        time.sleep(0.01)


@pytest.fixture
def tiny_engine(tiny_gguf) -> Engine:
    return Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=512)


def test_streams_carry_the_same_tokens_as_the_synchronous_engine(tiny_engine) -> None:
    prompts = ["hello there", "a", "the tiny model says", "xyz", "one two three"]
    expected = tiny_engine.generate([request(p) for p in prompts])
    async_engine = AsyncEngine(tiny_engine).start()

    async def collect(prompt: str) -> tuple[str, object]:
        text, result = "", None
        async for chunk in async_engine.submit(request(prompt)):
            text += chunk.text
            result = chunk.result or result
        return text, result

    async def main() -> list[tuple[str, object]]:
        return await asyncio.gather(*(collect(p) for p in prompts))

    try:
        got = asyncio.run(main())
    finally:
        async_engine.shutdown()
    for (text, result), want in zip(got, expected):
        assert result.token_ids == want.token_ids and text == want.text == result.text


def test_a_stream_abandoned_mid_way_frees_its_blocks(tiny_engine) -> None:
    async_engine = AsyncEngine(tiny_engine).start()

    async def main() -> int:
        stream = async_engine.submit(request("hello there", n=200))
        async for chunk in stream:
            if chunk.text:
                break  # leaving the loop closes the stream
        await asyncio.sleep(0)
        return len(stream.seq.out)

    try:
        generated = asyncio.run(main())
        wait_idle(tiny_engine)
        assert tiny_engine.stats().kv_blocks_used == 0
        assert generated < 200
    finally:
        async_engine.shutdown()


def test_a_full_queue_is_refused_before_anything_is_queued(tiny_engine) -> None:
    async_engine = AsyncEngine(tiny_engine, max_waiting=2).start()

    async def main() -> None:
        with tiny_engine.core.paused():  # nothing is scheduled: requests stay waiting
            streams = [async_engine.submit(request("a")) for _ in range(2)]
            with pytest.raises(QueueFullError, match="2 requests are waiting, the limit is 2"):
                async_engine.submit(request("b"))
        for s in streams:
            await s.result()

    try:
        asyncio.run(main())
    finally:
        async_engine.shutdown()
    assert tiny_engine.stats().kv_blocks_used == 0


def test_preemption_under_a_small_cache_changes_no_tokens(tiny_gguf) -> None:
    roomy = Engine.load(tiny_gguf, device="cpu", max_batch_size=6)
    cramped = Engine(roomy.loaded, max_batch_size=6, kv_cache_tokens=96)  # six sequences of 40 need 240
    requests = [request(p, n=30) for p in ["hello there", "a", "the tiny model says", "xyz", "q r", "mm"]]
    want = [r.token_ids for r in roomy.generate(requests)]
    assert [r.token_ids for r in cramped.generate(requests)] == want
    assert cramped.stats().preemptions_total > 0 and cramped.stats().kv_blocks_used == 0


def test_a_request_larger_than_the_whole_cache_is_refused(tiny_gguf) -> None:
    engine = Engine.load(tiny_gguf, device="cpu", kv_cache_tokens=32)
    with pytest.raises(Exception, match=r"the KV cache holds 32"):
        engine.generate([request("hello there", n=40)])


def test_a_failing_step_ends_every_live_request_with_the_error_and_the_engine_goes_on(tiny_engine, monkeypatch) -> None:
    async_engine = AsyncEngine(tiny_engine).start()

    def broken(_chunks):
        raise RuntimeError("device lost")

    async def one() -> object:
        return await async_engine.generate(request("hello there"))

    try:
        monkeypatch.setattr(tiny_engine.core.runner, "execute", broken)
        with pytest.raises(EngineFailedError, match="RuntimeError: device lost"):
            asyncio.run(one())
        monkeypatch.undo()
        assert asyncio.run(one()).usage.completion_tokens == 12
    finally:
        async_engine.shutdown()
    assert tiny_engine.stats().kv_blocks_used == 0
