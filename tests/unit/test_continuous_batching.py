"""Continuous batching: more requests than the running batch holds, places reused as sequences finish,
numbers unchanged."""

from __future__ import annotations

from engine import GenerationRequest, SamplingParams
from engine.engine import Engine

PROMPTS = ["hello there", "a", "the tiny model says", "xyz", "one two three four five", "b", "q r", "mm"]


def requests(params: list[SamplingParams]) -> list[GenerationRequest]:
    return [GenerationRequest(prompt=PROMPTS[i % len(PROMPTS)], params=p) for i, p in enumerate(params)]


def test_more_requests_than_rows_give_the_tokens_each_would_get_alone(tiny_gguf) -> None:
    lengths = [3, 9, 1, 6, 12, 2, 5, 7, 4, 8]  # different lengths, so rows free up at different steps
    params = [SamplingParams(temperature=0, max_tokens=n, ignore_eos=True) for n in lengths]
    alone = Engine.load(tiny_gguf, device="cpu", max_batch_size=1)
    three_rows = Engine(alone.loaded, max_batch_size=3)
    batched = three_rows.generate(requests(params))
    for request, result in zip(requests(params), batched):
        assert alone.generate([request])[0].token_ids == result.token_ids
    assert [len(r.token_ids) for r in batched] == lengths


def test_seeded_sampling_does_not_depend_on_the_batch(tiny_gguf) -> None:
    params = [SamplingParams(temperature=1.3, top_k=50, seed=100 + i, max_tokens=4 + i, ignore_eos=True)
              for i in range(7)]
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=7)
    together = engine.generate(requests(params))
    narrow = Engine(engine.loaded, max_batch_size=2).generate(requests(params))
    assert [r.token_ids for r in together] == [r.token_ids for r in narrow]


def test_as_completed_yields_each_request_once_as_it_finishes(tiny_gguf) -> None:
    lengths = [10, 2, 6, 1, 8]
    params = [SamplingParams(temperature=0, max_tokens=n, ignore_eos=True) for n in lengths]
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=5)
    order = [i for i, _ in engine.as_completed(requests(params))]
    assert sorted(order) == list(range(5))
    assert order == sorted(range(5), key=lambda i: lengths[i])  # all start together; shorter ones end first
