"""The OpenAI-compatible server on a tiny model over real loopback HTTP: the official SDK as client,
OpenAI's error shapes and codes, API keys, a full queue, and the engine's gauges on /metrics."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from engine import ContextLengthError, GenerationRequest, SamplingParams
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
    ("n beyond the limit", {"n": 17}, "n"),
    ("empty stop string", {"stop": [""]}, "stop"),
    ("a role that does not exist", {"messages": [{"role": "wizard", "content": "hi"}]}, "role"),
    ("seed out of range", {"seed": 2**70}, "seed"),
    ("text that is not valid Unicode", b'{"model": "MODEL", "messages": [{"role": "user", "content": "a\\ud800b"}]}',
     "not valid Unicode"),
]


@pytest.mark.parametrize("name,change,phrase", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_requests_get_a_400_naming_what_was_wrong_and_the_server_keeps_serving(
        server, tiny_engine, name, change, phrase) -> None:
    if isinstance(change, bytes):
        body = change.replace(b"MODEL", tiny_engine.model_id.encode())
        response = httpx.post(f"{server}/v1/chat/completions", content=body, headers={"content-type": "application/json"})
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


def test_a_reply_started_for_the_model_is_continued_as_the_engine_continues_it(server, tiny_engine) -> None:
    """vLLM's `continue_final_message`, which the harness's judges send: the answer goes on from the
    assistant's started reply, exactly as the engine generates from the same prompt."""
    question = ({"role": "user", "content": "Grade this."},)
    started = {"role": "assistant", "content": '{"rationale": "'}
    body = chat_body(tiny_engine, messages=[*question, started], max_tokens=6, temperature=0,
                     continue_final_message=True, add_generation_prompt=False)
    response = httpx.post(f"{server}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    prompt = tiny_engine.tokenizer.chat_template.render(question) + started["content"]
    (expected,) = tiny_engine.generate([GenerationRequest(prompt=prompt, params=SamplingParams(temperature=0,
                                                                                               max_tokens=6))])
    assert response.json()["choices"][0]["message"]["content"] == expected.text


@pytest.mark.parametrize("change", [{"add_generation_prompt": True},
                                    {"messages": [{"role": "user", "content": "hi"}]}])
def test_continuing_needs_an_assistant_message_last_and_no_new_turn(server, tiny_engine, change) -> None:
    body = chat_body(tiny_engine, messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Su"}],
                     continue_final_message=True, add_generation_prompt=False)
    response = httpx.post(f"{server}/v1/chat/completions", json={**body, **change}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "continue_final_message"


def test_a_body_over_the_limit_is_answered_413_before_it_is_parsed(tiny_engine, memory) -> None:
    with app_in_thread(AsyncEngine(tiny_engine), memory.tel, max_body_bytes=10_000) as url:
        big = chat_body(tiny_engine, messages=[{"role": "user", "content": "x" * 20_000}])
        declared = httpx.post(f"{url}/v1/chat/completions", json=big, timeout=30)

        def chunks():  # no Content-Length: the limit is counted as the body arrives
            yield b'{"model": "m", "messages": [{"role": "user", "content": "'
            for _ in range(20):
                yield b"y" * 1000
            yield b'"}]}'
        streamed = httpx.post(f"{url}/v1/chat/completions", content=chunks(), timeout=30)
        small = httpx.post(f"{url}/v1/chat/completions", json=chat_body(tiny_engine), timeout=30)
    for response in (declared, streamed):
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "request_too_large" and "10000 bytes" in error["message"]
    assert small.status_code == 200  # under the limit, served as before


def test_whole_answer_clients_that_hang_up_are_cancelled_and_free_their_blocks(tiny_gguf) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from engine.server.app import DISCONNECT_POLL_S

    memory = MemoryTelemetry()
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096, telemetry=memory.tel)
    with app_in_thread(AsyncEngine(engine, max_waiting=64), memory.tel) as url:
        def hang_up(_: int) -> None:
            with pytest.raises(httpx.TimeoutException):
                httpx.post(f"{url}/v1/chat/completions", json=chat_body(engine, max_tokens=32), timeout=0.5)

        with engine.core.paused():  # nothing generates, as behind a long queue, while 40 clients give up
            with ThreadPoolExecutor(40) as pool:
                list(pool.map(hang_up, range(40)))
            time.sleep(4 * DISCONNECT_POLL_S)  # each handler notices its client has gone
        deadline = time.monotonic() + 10
        while (s := engine.stats()).running or s.waiting or s.kv_blocks_used:
            assert time.monotonic() < deadline, s
            time.sleep(0.05)
        generations = memory.finished("chat ", wait_for=40)
    reasons = [g.attributes["gen_ai.response.finish_reasons"][0] for g in generations if g.kind.name == "INTERNAL"]
    assert reasons == ["cancelled"] * 40  # none was generated for a client that had gone


def test_the_prompt_is_templated_and_tokenised_off_the_event_loop(tiny_engine, memory, monkeypatch) -> None:
    """A huge prompt then keeps a worker thread busy, never the loop that answers /health and every client."""
    on_loop = []
    prepare = tiny_engine.prepare

    def watched(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # no event loop runs on this thread
            on_loop.append(False)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(tiny_engine, "prepare", watched)
    with app_in_thread(AsyncEngine(tiny_engine), memory.tel) as url:
        for stream in (False, True):
            response = httpx.post(f"{url}/v1/chat/completions", json=chat_body(tiny_engine, stream=stream), timeout=30)
            assert response.status_code == 200
    assert on_loop == [False, False]


def test_a_body_too_long_for_any_tokenisation_to_fit_is_refused_without_tokenising_it(tiny_engine, monkeypatch) -> None:
    """Each token covers at most `max_token_bytes`, so a long enough text cannot fit the context window
    however it tokenises: refused at once instead of after seconds of tokenising (a 4 MiB body took 3.3 s)."""
    limit = tiny_engine.context_window * tiny_engine.tokenizer.max_token_bytes
    encoded = []
    monkeypatch.setattr(tiny_engine.tokenizer, "encode", lambda text: encoded.append(len(text)) or [1] * 3)
    huge = GenerationRequest(prompt="x" * (limit + 1), params=SamplingParams(max_tokens=1))
    with pytest.raises(ContextLengthError, match="prompt is at least"):
        tiny_engine.validate(huge)
    assert encoded == []
    tiny_engine.validate(GenerationRequest(prompt="x" * (limit // 2), params=SamplingParams(max_tokens=1)))
    assert encoded == [limit // 2]  # below the bound, the tokenizer decides
