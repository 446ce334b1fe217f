"""`n` choices through the openai SDK on a tiny model: choice i is the request alone with seed + i, whole or
streamed, the prompt is counted once, and the later choices read the first's prefill from the prefix
cache instead of computing it again (so do repeated prompts in one `generate`: a suite's epochs)."""

from __future__ import annotations

import pytest

from engine import GenerationRequest, SamplingParams
from engine.engine import BLOCK_SIZE, Engine
from tests.serving import served_engine
from tests.tiny_models import write_gguf

PROMPT = "Tell me about the sea and the sky and the wind in three lines."  # 64 byte tokens: four whole blocks


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = write_gguf(tmp_path_factory.mktemp("n") / "tiny-512.gguf", context_length=512)
    with served_engine(path, max_batch_size=8, kv_cache_tokens=8192, max_waiting=32) as s:
        yield s.client, s.engine, s.memory, path


def alone(path, seed: int) -> GenerationRequest:
    return GenerationRequest(prompt=PROMPT, params=SamplingParams(temperature=0.9, seed=seed, max_tokens=12))


def test_choice_i_is_the_request_alone_with_seed_plus_i(served) -> None:
    client, engine, memory, path = served
    reply = client.completions.create(model=engine.model_id, prompt=PROMPT, n=3, temperature=0.9, seed=40,
                                      max_tokens=12)
    cold = Engine.load(path, device="cpu", max_batch_size=2, kv_cache_tokens=4096)
    want = [cold.generate([alone(path, 40 + i)])[0] for i in range(3)]
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert [c.text for c in reply.choices] == [w.text for w in want] and len({w.text for w in want}) == 3
    assert reply.usage.prompt_tokens == want[0].usage.prompt_tokens
    assert reply.usage.completion_tokens == sum(w.usage.completion_tokens for w in want)
    spans = [s for s in memory.finished("text_completion", wait_for=3) if s.attributes["gen_ai.response.id"] == reply.id]
    cached = sorted(s.attributes["gen_ai.usage.cache_read.input_tokens"] for s in spans)
    whole_blocks = (len(engine.tokenizer.encode(PROMPT)) - 1) // BLOCK_SIZE * BLOCK_SIZE
    assert len(spans) == 3 and cached[1:] == [whole_blocks] * 2  # one prefill; the others read it


def test_streamed_choices_arrive_under_their_indexes(served) -> None:
    client, engine, _, _ = served
    whole = client.chat.completions.create(model=engine.model_id, messages=[{"role": "user", "content": "hi"}], n=2,
                                           temperature=0.9, seed=3, max_tokens=10)
    chunks = list(client.chat.completions.create(model=engine.model_id, messages=[{"role": "user", "content": "hi"}],
                                                 n=2, temperature=0.9, seed=3, max_tokens=10, stream=True,
                                                 stream_options={"include_usage": True}))
    texts = ["".join(c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].index == i)
             for i in range(2)]
    assert texts == [c.message.content for c in whole.choices]
    assert sum(1 for c in chunks if c.choices and c.choices[0].finish_reason) == 2
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_repeated_prompts_in_one_generate_are_prefilled_once(served) -> None:
    _, _, _, path = served
    engine = Engine.load(path, device="cpu", max_batch_size=8, kv_cache_tokens=4096)
    results = engine.generate([alone(path, seed) for seed in range(4)])
    whole_blocks = (results[0].usage.prompt_tokens - 1) // BLOCK_SIZE * BLOCK_SIZE
    assert [r.usage.cached_tokens for r in results] == [0] + [whole_blocks] * 3
    cold = Engine.load(path, device="cpu", max_batch_size=2, kv_cache_tokens=4096)
    assert [r.token_ids for r in results] == [cold.generate([alone(path, s)])[0].token_ids for s in range(4)]
