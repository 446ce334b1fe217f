"""Log probabilities on chat through the official `openai` SDK against a real server on a tiny model: one
entry per generated token in OpenAI's shape, the chosen token's log probability under the model's own
logits (computed here from the model), rivals sorted, streaming included, and bad combinations refused."""

from __future__ import annotations

import math

import openai
import pytest
import torch

from engine import GenerationRequest, SamplingParams
from engine.async_engine import AsyncEngine
from engine.engine import Engine
from tests.serving import app_in_thread
from tests.telemetry_helpers import MemoryTelemetry

CHAT = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def served(tiny_gguf):
    memory = MemoryTelemetry()
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096, telemetry=memory.tel)
    with app_in_thread(AsyncEngine(engine, max_waiting=16), memory.tel) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="none"), engine


def test_chat_logprobs_are_the_models_own(served) -> None:
    client, engine = served
    reply = client.chat.completions.create(model=engine.model_id, messages=CHAT, max_tokens=8, temperature=0,
                                           logprobs=True, top_logprobs=3)
    content = reply.choices[0].logprobs.content
    assert len(content) == reply.usage.completion_tokens
    result = engine.generate([GenerationRequest(messages=tuple(CHAT), params=SamplingParams(temperature=0, max_tokens=8))])[0]
    prompt = engine.tokenizer.encode(engine.tokenizer.chat_template.render(list(CHAT)))
    ids = prompt + list(result.token_ids)
    with torch.inference_mode():  # the whole sequence in one forward: the logits at each generated position
        logits = engine.model(torch.tensor([ids]), torch.arange(len(ids))[None])[0]
    for k, entry in enumerate(content):
        logp = logits[len(prompt) + k - 1].float().log_softmax(-1)
        token = result.token_ids[k]
        assert entry.logprob == pytest.approx(logp[token].item(), abs=1e-4)
        assert entry.token == engine.tokenizer.decode([token]) and entry.bytes == list(entry.token.encode())
        assert [t.logprob for t in entry.top_logprobs] == pytest.approx(logp.topk(3).values.tolist(), abs=1e-4)
        assert entry.top_logprobs[0].token == entry.token  # greedy: the likeliest token was chosen
        assert all(t.logprob <= 0 for t in entry.top_logprobs)


def test_streamed_logprobs_cover_every_token_once(served) -> None:
    client, engine = served
    chunks = list(client.chat.completions.create(model=engine.model_id, messages=CHAT, max_tokens=12, temperature=0.8,
                                                 seed=3, logprobs=True, top_logprobs=2, stream=True,
                                                 stream_options={"include_usage": True}))
    entries = [e for c in chunks if c.choices and c.choices[0].logprobs for e in c.choices[0].logprobs.content]
    assert len(entries) == chunks[-1].usage.completion_tokens
    assert all(len(e.top_logprobs) == 2 and e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob for e in entries)
    assert all(math.isfinite(e.logprob) and e.logprob <= e.top_logprobs[0].logprob + 1e-6 for e in entries)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    plain = client.chat.completions.create(model=engine.model_id, messages=CHAT, max_tokens=12, temperature=0.8, seed=3)
    assert text == plain.choices[0].message.content  # asking for logprobs changes no token


def test_without_logprobs_there_are_none_and_bad_combinations_are_400(served) -> None:
    client, engine = served
    reply = client.chat.completions.create(model=engine.model_id, messages=CHAT, max_tokens=4)
    assert reply.choices[0].logprobs is None
    for extra, field in (({"top_logprobs": 2}, "logprobs"), ({"logprobs": True, "top_logprobs": 21}, "top_logprobs")):
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model=engine.model_id, messages=CHAT, max_tokens=4, **extra)
        assert field in str(e.value)


def test_completions_logprobs_in_the_legacy_shape(served) -> None:
    """`logprobs: N` on completions: parallel lists, rivals as {token: logprob}, offsets into the text."""
    client, engine = served
    reply = client.completions.create(model=engine.model_id, prompt="Once upon", max_tokens=6, temperature=0,
                                      logprobs=2)
    lp = reply.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == reply.usage.completion_tokens
    assert all(len(top) <= 2 and max(top.values()) >= chosen - 1e-6 for top, chosen in zip(lp.top_logprobs,
                                                                                          lp.token_logprobs))
    assert lp.text_offset == [sum(len(t) for t in lp.tokens[:i]) for i in range(len(lp.tokens))]
    streamed = list(client.completions.create(model=engine.model_id, prompt="Once upon", max_tokens=6, temperature=0,
                                              logprobs=2, stream=True))
    tokens = [t for c in streamed if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.tokens]
    assert tokens == lp.tokens
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=engine.model_id, prompt="x", max_tokens=2, logprobs=6)


@pytest.mark.parametrize("max_tokens", [0, 3])
def test_echo_scores_the_prompt_with_the_models_own_log_probabilities(served, max_tokens) -> None:
    """`echo` with `logprobs`, as lm-evaluation-harness asks an endpoint for log-likelihoods: the prompt's
    tokens first (the first without a log probability), each under the logits of one whole forward here."""
    client, engine = served
    prompt = "The cat sat on the mat."
    reply = client.completions.create(model=engine.model_id, prompt=prompt, max_tokens=max_tokens, temperature=0,
                                      echo=True, logprobs=1)
    lp, ids = reply.choices[0].logprobs, engine.tokenizer.encode(prompt)
    assert reply.choices[0].text.startswith(prompt) and reply.usage.completion_tokens == max_tokens
    assert len(lp.tokens) == len(ids) + max_tokens and lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert lp.tokens[:len(ids)] == [engine.tokenizer.decode([i]) for i in ids]
    assert lp.text_offset == [sum(len(t) for t in lp.tokens[:i]) for i in range(len(lp.tokens))]
    with torch.inference_mode():
        logp = engine.model(torch.tensor([ids]), torch.arange(len(ids))[None])[0].float().log_softmax(-1)
    assert lp.token_logprobs[1:len(ids)] == pytest.approx([logp[p, ids[p + 1]].item() for p in range(len(ids) - 1)],
                                                          abs=1e-4)
    assert all(len(top) == 1 for top in lp.top_logprobs[1:])


def test_echo_is_refused_where_it_cannot_be_answered(served) -> None:
    client, engine = served
    for extra, says in (({"max_tokens": 0}, "needs echo"), ({"echo": True, "stream": True}, "without stream")):
        with pytest.raises(openai.BadRequestError) as e:
            client.completions.create(model=engine.model_id, prompt="x", **({"max_tokens": 2} | extra))
        assert says in str(e.value)
