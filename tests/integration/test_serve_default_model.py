"""`goldgate serve` on the default model, driven over loopback by the official openai SDK: answers equal the
in-process engine's, 128 streaming clients all finish, clients that hang up free their KV blocks, bad
requests get 4xx while the server keeps serving. Load is bounded in count and time."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
import torch

from engine import GenerationRequest, SamplingParams
from engine.engine import Engine
from tests.serving import engine_gauges, goldgate_serve, wait_until_idle

pytestmark = pytest.mark.model

TOPICS = ["the sea", "a cat", "rain", "Paris", "bread", "a robot", "the moon", "music"]


def question(i: int) -> str:
    return f"Write two sentences about {TOPICS[i % len(TOPICS)]} and the number {i}."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with goldgate_serve("--max-batch", "64", "--device", "cpu", "--dtype", "float32",
                        log=tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def engine(default_model_path) -> Engine:
    return Engine.load(default_model_path, device="cpu", dtype=torch.float32, max_batch_size=64)


def sdk(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=300)


async def ask(client: openai.AsyncOpenAI, model: str, i: int, *, stream: bool, max_tokens: int) -> str:
    messages = [{"role": "user", "content": question(i)}]
    if not stream:
        answer = await client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens,
                                                      temperature=0)
        return answer.choices[0].message.content
    chunks = await client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens,
                                                  temperature=0, stream=True)
    return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])


def in_process(engine: Engine, indices: list[int], max_tokens: int) -> list[str]:
    params = SamplingParams(temperature=0, max_tokens=max_tokens)
    return [r.text for r in engine.generate(
        [GenerationRequest(messages=({"role": "user", "content": question(i)},), params=params) for i in indices])]


def test_chat_and_completions_whole_and_streamed_equal_the_in_process_engine(server, engine) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    model = engine.model_id
    expected_chat = in_process(engine, [3], 24)[0]
    assert asyncio.run(ask(sdk(server), model, 3, stream=False, max_tokens=24)) == expected_chat
    assert asyncio.run(ask(sdk(server), model, 3, stream=True, max_tokens=24)) == expected_chat

    prompt = "The three primary colours are"
    expected = engine.generate([GenerationRequest(prompt=prompt, params=SamplingParams(temperature=0, max_tokens=16))])[0]
    whole = client.completions.create(model=model, prompt=prompt, max_tokens=16, temperature=0)
    assert whole.choices[0].text == expected.text and whole.usage.completion_tokens == expected.usage.completion_tokens
    pieces = list(client.completions.create(model=model, prompt=prompt, max_tokens=16, temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    assert "".join(p.choices[0].text for p in pieces if p.choices) == expected.text
    assert pieces[-1].usage.prompt_tokens == expected.usage.prompt_tokens


def test_64_concurrent_clients_get_what_the_engine_gives_in_process(server, engine) -> None:
    async def main() -> list[str]:
        client = sdk(server)
        return await asyncio.gather(*(ask(client, engine.model_id, i, stream=i % 2 == 1, max_tokens=24)
                                      for i in range(64)))

    assert asyncio.run(main()) == in_process(engine, list(range(64)), 24)


def test_128_streaming_clients_all_finish_without_a_5xx(server, engine) -> None:
    async def one(client: openai.AsyncOpenAI, i: int) -> str | None:
        stream = await client.chat.completions.create(
            model=engine.model_id, messages=[{"role": "user", "content": question(i)}], max_tokens=12,
            temperature=0.7, seed=i, stream=True)
        reasons = [c.choices[0].finish_reason async for c in stream if c.choices]
        return reasons[-1]

    async def main() -> list[str | None]:
        client = sdk(server)
        return await asyncio.wait_for(asyncio.gather(*(one(client, i) for i in range(128))), timeout=400)

    reasons = asyncio.run(main())  # a 5xx would raise openai.InternalServerError here
    assert len(reasons) == 128 and set(reasons) <= {"stop", "length"}
    assert wait_until_idle(server)["goldgate_engine_kv_blocks_used"] == 0


def test_30_clients_that_hang_up_mid_stream_leave_no_kv_blocks_in_use(server, engine) -> None:
    body = {"model": engine.model_id, "max_tokens": 4000, "temperature": 0.8, "stream": True}

    async def hang_up(http: httpx.AsyncClient, i: int) -> int:
        request = {**body, "seed": i, "messages": [{"role": "user", "content": f"Tell a very long story, part {i}."}]}
        events = 0
        async with http.stream("POST", f"{server}/v1/chat/completions", json=request) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                events += line.startswith("data: ")
                if events == 3:
                    break  # leaving the block closes the connection mid-stream
        return events

    async def main() -> list[int]:
        async with httpx.AsyncClient(timeout=120) as http:
            return await asyncio.gather(*(hang_up(http, i) for i in range(30)))

    assert asyncio.run(main()) == [3] * 30
    busy = engine_gauges(server)
    gauges = wait_until_idle(server, timeout=60)  # 30 requests of 4,000 tokens would take far longer
    assert gauges["goldgate_engine_kv_blocks_used"] == 0
    assert busy["goldgate_engine_requests_running"] + busy["goldgate_engine_requests_waiting"] <= 30


@pytest.mark.parametrize("body,phrase", [
    (b"{oops", "not valid JSON"),
    ({"max_tokens": "ten"}, "max_tokens"),
    ({"reasoning_effort_typo": "high"}, "unknown field"),
    ({"max_tokens": 10**7}, "context window"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "user", "content": "word " * 9000}]}, "context window"),
], ids=["malformed JSON", "wrong type", "unknown field", "huge max_tokens", "empty messages", "oversize prompt"])
def test_bad_requests_get_4xx_with_a_message_and_the_server_keeps_serving(server, engine, body, phrase) -> None:
    good = {"model": engine.model_id, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
    if isinstance(body, bytes):
        response = httpx.post(f"{server}/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    else:
        response = httpx.post(f"{server}/v1/chat/completions", json={**good, **body}, timeout=60)
    assert 400 <= response.status_code < 500 and phrase in response.json()["error"]["message"]
    assert httpx.post(f"{server}/v1/chat/completions", json=good, timeout=60).status_code == 200


def test_greedy_tokens_are_the_same_alone_and_among_63_others(engine) -> None:
    params = SamplingParams(temperature=0, max_tokens=32, ignore_eos=True)
    requests = [GenerationRequest(messages=({"role": "user", "content": question(i)},), params=params)
                for i in range(64)]
    together = engine.generate(requests)
    for i in (0, 21, 42, 63):
        assert engine.generate([requests[i]])[0].token_ids == together[i].token_ids


def test_a_shared_400_token_prefix_is_computed_once_and_changes_no_token(server, engine) -> None:
    """The second request through the SDK reports the shared blocks as cached and answers exactly as the
    in-process engine does with nothing cached; the prefix is new to both (it names this test)."""
    facts = " ".join(f"Shelf {i} of the prefix-cache test holds {i * 7 % 50} boxes." for i in range(40))
    prefix = [{"role": "system", "content": facts}]
    assert len(engine.tokenizer.encode(facts)) >= 400
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0, timeout=300)
    answers = [client.chat.completions.create(model=engine.model_id, max_tokens=16, temperature=0,
                                              messages=prefix + [{"role": "user", "content": q}])
               for q in ("Which shelf holds 14 boxes?", "How many boxes are on shelf 2?")]
    details = [a.usage.prompt_tokens_details.cached_tokens for a in answers]
    assert details[0] == 0 and details[1] >= 400
    second = (*prefix, {"role": "user", "content": "How many boxes are on shelf 2?"})
    uncached = engine.generate([GenerationRequest(messages=second, params=SamplingParams(temperature=0,
                                                                                         max_tokens=16))])[0]
    assert uncached.usage.cached_tokens == 0 and answers[1].choices[0].message.content == uncached.text
