"""The KV cache and batching change no numbers: incremental decoding equals one full forward."""

from __future__ import annotations

import torch

from engine import Engine, GenerationRequest, SamplingParams
from engine.config import ModelConfig
from engine.generate import decode_one_token, prefill
from engine.model import Transformer, attention_mask


def tiny_model(seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(ModelConfig.tiny()).eval()


def full_logits(m: Transformer, ids: list[int]) -> torch.Tensor:
    m.setup_caches(1, len(ids))
    pos = torch.arange(len(ids))[None]
    with torch.inference_mode():
        return m(torch.tensor([ids]), pos, kv_len=len(ids), mask=attention_mask(pos, len(ids)))[0]


def test_decoding_token_by_token_matches_the_full_forward() -> None:
    m = tiny_model()
    ids = [5, 9, 200, 31, 7, 7, 64, 128, 3, 250]
    expected = full_logits(m, ids)
    m.setup_caches(1, len(ids))
    got = [prefill(m, [ids[:4]], torch.device("cpu"))[0]]
    for i in range(4, len(ids)):
        got.append(decode_one_token(m, [ids[i]], [i], torch.device("cpu"))[0])
    torch.testing.assert_close(torch.stack(got), expected[3:], atol=1e-5, rtol=1e-5)


def test_rows_of_a_batch_match_each_sequence_alone() -> None:
    m = tiny_model(1)
    prompts = [[1, 2, 3], [40, 41, 42, 43, 44, 45, 46], [9]]
    cont = [[7, 8], [9, 10], [11, 12]]
    m.setup_caches(len(prompts), 12)
    batch = [prefill(m, prompts, torch.device("cpu"))]
    for step in range(2):
        positions = [len(p) + step for p in prompts]
        batch.append(decode_one_token(m, [c[step] for c in cont], positions, torch.device("cpu")))
    for row, (p, c) in enumerate(zip(prompts, cont)):
        alone = full_logits(m, p + c)[len(p) - 1:]
        torch.testing.assert_close(torch.stack([b[row] for b in batch]), alone, atol=1e-5, rtol=1e-5)


def test_greedy_generation_is_the_same_alone_and_in_a_batch(tiny_gguf) -> None:
    engine = Engine.load(tiny_gguf, device="cpu")
    greedy = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)
    requests = [GenerationRequest(prompt=p, params=greedy) for p in ["hello there", "a", "the tiny model says"]]
    together = engine.generate(requests)
    for request, result in zip(requests, together):
        assert engine.generate([request])[0].token_ids == result.token_ids
        assert len(result.token_ids) == 12 and result.finish_reason == "length"
