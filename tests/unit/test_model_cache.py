"""The paged KV cache changes no numbers: chunked and token-by-token decoding over scattered blocks equal
one full forward, and the rows of a ragged batch equal each sequence alone."""

from __future__ import annotations

import torch

from engine import GenerationRequest, SamplingParams
from engine.config import ModelConfig
from engine.engine import Engine
from engine.model import Transformer
from engine.paged_cache import PagedKVCache, allocate_caches, kv_view

BLOCK = 4


def tiny_model(seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(ModelConfig.tiny()).eval()


@torch.inference_mode()
def full_logits(m: Transformer, ids: list[int]) -> torch.Tensor:
    """[T, V] from one forward over the whole sequence, no cache."""
    return m(torch.tensor([ids]), torch.arange(len(ids))[None])[0]


@torch.inference_mode()
def paged_logits(m: Transformer, caches: tuple[PagedKVCache, ...], rows: list[tuple[list[int], list[int], int, int]]) -> torch.Tensor:
    """Compute positions [start, end) of each row (tokens, block table, start, end) in one step: [B, V]
    at each row's last position."""
    view, pos = kv_view(caches, [t for _, t, _, _ in rows], [s for *_, s, _ in rows], [e for *_, e in rows], BLOCK,
                        torch.device("cpu"))
    width = pos.shape[1]
    tokens = torch.tensor([ids[s:e] + [0] * (width - (e - s)) for ids, _, s, e in rows])
    return m(tokens, pos, view, logits_at=torch.tensor([e - s - 1 for *_, s, e in rows]))


def test_decoding_token_by_token_over_scattered_blocks_matches_the_full_forward() -> None:
    m = tiny_model()
    caches = allocate_caches(m.config, 16 * BLOCK, torch.float32, "cpu")
    ids = [5, 9, 200, 31, 7, 7, 64, 128, 3, 250]
    table = [9, 2, 14]  # out of order on purpose
    got = [paged_logits(m, caches, [(ids, table, 0, 5)])[0]]
    for end in range(6, len(ids) + 1):
        got.append(paged_logits(m, caches, [(ids, table, end - 1, end)])[0])
    torch.testing.assert_close(torch.stack(got), full_logits(m, ids)[4:], atol=1e-5, rtol=1e-5)


def test_rows_of_a_ragged_batch_match_each_sequence_alone() -> None:
    m = tiny_model(1)
    caches = allocate_caches(m.config, 32 * BLOCK, torch.float32, "cpu")
    seqs = [[1, 2, 3, 4, 5, 6], [40, 41, 42, 43, 44, 45, 46, 47, 48], [9, 10]]
    tables = [[3, 4], [7, 1, 12], [20]]
    first = paged_logits(m, caches, [(s, t, 0, 3 if len(s) > 3 else 1) for s, t in zip(seqs, tables)])  # chunked prefill
    rest = paged_logits(m, caches, [(s, t, 3 if len(s) > 3 else 1, len(s)) for s, t in zip(seqs, tables)])
    for row, s in enumerate(seqs):
        alone = full_logits(m, s)
        torch.testing.assert_close(first[row], alone[2 if len(s) > 3 else 0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(rest[row], alone[-1], atol=1e-5, rtol=1e-5)


def test_writing_one_sequence_leaves_the_other_blocks_alone() -> None:
    m = tiny_model(2)
    caches = allocate_caches(m.config, 8 * BLOCK, torch.float32, "cpu")
    paged_logits(m, caches, [([1, 2, 3, 4, 5], [1, 2], 0, 5), ([6, 7, 8], [3], 0, 3)])
    before = [c.k.clone() for c in caches]
    paged_logits(m, caches, [([7, 8, 9, 10, 11, 12], [5, 6], 0, 6)])
    for cache, old in zip(caches, before):
        k = cache.k
        torch.testing.assert_close(k[BLOCK:4 * BLOCK], old[BLOCK:4 * BLOCK])  # blocks 1-3 untouched
        assert not torch.equal(k[5 * BLOCK:7 * BLOCK], old[5 * BLOCK:7 * BLOCK])


def test_greedy_generation_is_the_same_alone_and_in_a_batch(tiny_gguf) -> None:
    engine = Engine.load(tiny_gguf, device="cpu")
    greedy = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)
    requests = [GenerationRequest(prompt=p, params=greedy) for p in ["hello there", "a", "the tiny model says"]]
    together = engine.generate(requests)
    for request, result in zip(requests, together):
        assert engine.generate([request])[0].token_ids == result.token_ids
        assert len(result.token_ids) == 12 and result.finish_reason == "length"
