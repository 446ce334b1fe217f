"""Continuous batching: more requests than cache rows, rows reused as sequences finish, numbers unchanged."""

from __future__ import annotations

import torch

from engine import Engine, GenerationRequest, SamplingParams
from engine.generate import prefill
from tests.unit.test_model_cache import full_logits, tiny_model

PROMPTS = ["hello there", "a", "the tiny model says", "xyz", "one two three four five", "b", "q r", "mm"]


def requests(params: list[SamplingParams]) -> list[GenerationRequest]:
    return [GenerationRequest(prompt=PROMPTS[i % len(PROMPTS)], params=p) for i, p in enumerate(params)]


def test_prefill_into_chosen_rows_leaves_the_other_rows_alone() -> None:
    m = tiny_model(2)
    m.setup_caches(3, 16)
    prefill(m, [[1, 2, 3], [4, 5], [6]], torch.device("cpu"))
    before = [layer.attention.kv_cache.k.clone() for layer in m.layers]
    logits = prefill(m, [[7, 8, 9, 10]], torch.device("cpu"), slots=[1])
    torch.testing.assert_close(logits[0], full_logits(m, [7, 8, 9, 10])[-1], atol=1e-5, rtol=1e-5)
    m.setup_caches(3, 16)  # full_logits replaced the caches; redo the check on row contents
    prefill(m, [[1, 2, 3], [4, 5], [6]], torch.device("cpu"))
    prefill(m, [[7, 8, 9, 10]], torch.device("cpu"), slots=[1])
    for layer, old in zip(m.layers, before):
        k = layer.attention.kv_cache.k
        torch.testing.assert_close(k[[0, 2]], old[[0, 2]])
        assert not torch.equal(k[1, :, :4], old[1, :, :4])


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
