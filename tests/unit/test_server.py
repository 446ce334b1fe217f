"""The OpenAI-compatible server on a tiny model over real loopback HTTP: the official SDK as client,
OpenAI's error shapes and codes, API keys, a full queue, and the engine's gauges on /metrics."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from engine.async_engine import AsyncEngine
from engine.engine import Engine
from tests.serving import app_in_thread, engine_gauges
from tests.telemetry_helpers import MemoryTelemetry


@pytest.fixture(scope="module")
def memory() -> MemoryTelemetry:
    return MemoryTelemetry()


@pytest.fixture(scope="module")
def tiny_engine(tiny_gguf, memory) -> Engine:
    return Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096, telemetry=memory.tel)


@pytest.fixture(scope="module")
def server(tiny_engine, memory):
    with app_in_thread(AsyncEngine(tiny_engine, max_waiting=8), memory.tel) as url:
        yield url


def client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def chat_body(tiny_engine: Engine, **fields) -> dict:
    return {"model": tiny_engine.model_id, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, **fields}


BAD_BODIES = [
    ("not json", b"{\"model\": ", "not valid JSON"),
    ("wrong type", {"max_tokens": "four"}, "max_tokens"),
    ("unknown field", {"logit_bias_typo": 1}, "logit_bias_typo: unknown field"),
    ("huge max_tokens", {"max_tokens": 10**9}, "context window"),
    ("empty messages", {"messages": []}, "messages"),
    ("oversize prompt", {"messages": [{"role": "user", "content": "x" * 5000}]}, "prompt is"),
    ("temperature out of range", {"temperature": 7}, "temperature"),
    ("n other than 1", {"n": 3}, "n"),
    ("empty stop string", {"stop": [""]}, "stop"),
    ("a role that does not exist", {"messages": [{"role": "wizard", "content": "hi"}]}, "role"),
]


@pytest.mark.parametrize("name,change,phrase", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_requests_get_a_400_naming_what_was_wrong_and_the_server_keeps_serving(
        server, tiny_engine, name, change, phrase) -> None:
    if isinstance(change, bytes):
        response = httpx.post(f"{server}/v1/chat/completions", content=change,
                              headers={"content-type": "application/json"})
    else:
        response = httpx.post(f"{server}/v1/chat/completions", json=chat_body(tiny_engine, **change))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and phrase in error["message"]
    answer = client(server).chat.completions.create(model=tiny_engine.model_id, max_tokens=3,
                                                    messages=[{"role": "user", "content": "still there?"}])
    assert answer.usage.completion_tokens >= 1


def test_an_unknown_model_is_a_404_the_sdk_recognises(server) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client(server).completions.create(model="gpt-17", prompt="hi", max_tokens=2)


def test_models_lists_the_one_model_served(server, tiny_engine) -> None:
    assert [m.id for m in client(server).models.list()] == [tiny_engine.model_id]


def test_streamed_usage_arrives_in_a_final_chunk_with_no_choices(server, tiny_engine) -> None:
    chunks = list(client(server).chat.completions.create(
        model=tiny_engine.model_id, messages=[{"role": "user", "content": "hi"}], max_tokens=5, temperature=0,
        stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5
    assert chunks[-2].choices[0].finish_reason == "length"
    assert all(c.usage is None for c in chunks[:-1])


def test_with_an_api_key_every_v1_request_needs_the_bearer_token(tiny_engine, memory) -> None:
    with app_in_thread(AsyncEngine(tiny_engine), memory.tel, api_key="s3cret") as url:
        with pytest.raises(openai.AuthenticationError):
            client(url, "wrong").models.list()
        assert httpx.post(f"{url}/v1/completions", json={}).status_code == 401
        assert [m.id for m in client(url, "s3cret").models.list()] == [tiny_engine.model_id]
        assert httpx.get(f"{url}/health").status_code == 200  # probes need no key


def test_a_full_queue_gets_503_with_retry_after(tiny_engine, memory) -> None:
    async_engine = AsyncEngine(tiny_engine, max_waiting=2)
    with app_in_thread(async_engine, memory.tel) as url:
        async def main() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=30) as http:
                body = {"model": tiny_engine.model_id, "prompt": "hi", "max_tokens": 2}
                with tiny_engine.core.paused():  # hold the steps so the first two stay waiting
                    first = [asyncio.create_task(http.post(f"{url}/v1/completions", json=body)) for _ in range(2)]
                    while tiny_engine.stats().waiting < 2:
                        await asyncio.sleep(0.01)
                    refused = await http.post(f"{url}/v1/completions", json=body)
                return [refused, *await asyncio.gather(*first)]

        refused, *served = asyncio.run(main())
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "limit is 2" in refused.json()["error"]["message"]
    assert [r.status_code for r in served] == [200, 200]


def test_metrics_show_the_engine_state(server) -> None:
    gauges = engine_gauges(server)
    assert gauges["goldgate_engine_kv_blocks_used"] == 0
    assert gauges["goldgate_engine_kv_blocks_free"] == 4096 // 16
    assert gauges["goldgate_engine_requests_running"] == 0
