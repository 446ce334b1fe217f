"""The real default model against transformers loading the same GGUF: logits, greedy tokens, prompts, and
multiple choice by log-likelihood."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from engine import GenerationRequest, SamplingParams
from evals.golden.dataset import load_golden_set
from evals.run.engine_backend import EngineBackend
from evals.run.suite import SamplingConfig
from evals.run.work import WorkItem
from evals.scorers.choice_loglik import ChoiceLoglik, ChoiceLoglikNorm, continuations

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]

CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Is water wet?"}],
    [{"role": "user", "content": "Write a haiku about autumn leaves."}],
    [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "Tell me a fun fact about octopuses."}],
    [{"role": "user", "content": "Explain why the sky is blue in two sentences."}],
    [{"role": "user", "content": "List three uses of a paperclip, as a numbered list."}],
]


def test_chat_template_is_string_identical(real_engine, hf_reference) -> None:
    tok, _ = hf_reference
    for chat in CHATS:
        for add in (True, False):
            ours = real_engine.tokenizer.chat_template.render(chat, add_generation_prompt=add)
            assert ours == tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=add)


def test_token_ids_match_transformers_on_text_without_digits(real_engine, hf_reference) -> None:
    tok, _ = hf_reference
    texts = [real_engine.tokenizer.chat_template.render(c) for c in CHATS] + [
        "  leading spaces, tabs\tand\nnewlines", "naïve café — ☕ emoji 🤖 and 中文", "<|im_start|>user\nx<|im_end|>"]
    for text in texts:
        assert real_engine.tokenizer.encode(text) == tok(text, add_special_tokens=False).input_ids, text


def test_digits_are_split_one_by_one_as_smollm_was_trained(real_engine) -> None:
    """llama.cpp's `smollm` pre-tokenizer isolates every digit; transformers' GGUF converter does not."""
    tokenizer = real_engine.tokenizer
    ids = tokenizer.encode("12345 + 678")
    assert [tokenizer.decode([i]) for i in ids] == ["1", "2", "3", "4", "5", " +", " ", "6", "7", "8"]


def test_last_position_logits_agree_within_1e_3(real_engine, hf_reference, device) -> None:
    tok, ref = hf_reference
    model = real_engine.model
    for chat in CHATS[:4]:
        ids = real_engine.tokenizer.encode(real_engine.tokenizer.chat_template.render(chat))
        tokens = torch.tensor([ids], device=device)
        pos = torch.arange(len(ids), device=device)[None]
        with torch.inference_mode():
            ours = model(tokens, pos)[0, -1]
            theirs = ref(tokens).logits[0, -1].float()
        assert (ours - theirs).abs().max().item() < 1e-3


def test_greedy_64_token_continuations_are_identical(real_engine, hf_reference, device) -> None:
    tok, ref = hf_reference
    params = SamplingParams(temperature=0, max_tokens=64)
    chats = [CHATS[i] for i in (0, 2, 3, 4, 5)]
    ours = real_engine.generate([GenerationRequest(messages=tuple(c), params=params) for c in chats])
    long_enough = 0
    for chat, result in zip(chats, ours):
        ids = real_engine.tokenizer.encode(real_engine.tokenizer.chat_template.render(chat))
        with torch.inference_mode():
            out = ref.generate(torch.tensor([ids], device=device), max_new_tokens=64, do_sample=False,
                               eos_token_id=sorted(real_engine.tokenizer.eos_ids), pad_token_id=0)
        assert list(result.token_ids) == out[0, len(ids):].tolist(), chat
        long_enough += len(result.token_ids) >= 32
    assert long_enough >= 3  # the comparison covers real continuations, not a few tokens before EOS


def test_top_logprobs_equal_log_softmax_of_transformers_logits_within_1e_3(real_engine, hf_reference, device) -> None:
    """20 rivals at each of up to 16 greedy steps, against transformers' own log-softmax at the same positions."""
    _, ref = hf_reference
    chat = tuple(CHATS[2])
    (result,) = real_engine.generate([GenerationRequest(messages=chat, params=SamplingParams(
        temperature=0, max_tokens=16, logprobs=20))])
    prompt = real_engine.tokenizer.encode(real_engine.tokenizer.chat_template.render(list(chat)))
    ids = prompt + list(result.token_ids)
    with torch.inference_mode():
        theirs = ref(torch.tensor([ids], device=device)).logits[0].float().log_softmax(-1)
    assert len(result.logprobs) == len(result.token_ids) >= 8
    for k, entry in enumerate(result.logprobs):
        position = theirs[len(prompt) + k - 1]
        assert abs(entry.logprob - position[entry.token_id].item()) < 1e-3
        top = position.topk(20)
        assert max(abs(lp - v) for (_, lp), v in zip(entry.top, top.values.tolist())) < 1e-3
        assert entry.top[0][0] == top.indices[0].item() == entry.token_id  # greedy, and the same winner


def test_choice_loglik_accuracy_equals_a_hand_computation_from_transformers_logits(real_engine, hf_reference,
                                                                                   device) -> None:
    """general-v1's multiple-choice examples scored by the engine's batched prompt log probabilities, and by
    hand here: transformers' logits for the same token ids, log_softmax, summed over the tokens that start
    inside the choice's text; acc and acc_norm agree exactly, each sum within 1e-3."""
    _, ref = hf_reference
    golden = load_golden_set(ROOT / "datasets" / "general-v1" / "general-v1.jsonl")
    items = [WorkItem(ex, 0, (), None, None, continuations=continuations(ex)) for ex in golden.examples
             if ex.expected.choices]
    scored = EngineBackend(real_engine, SamplingConfig()).logliks(items)
    tokenizer, by_hand = real_engine.tokenizer, {}
    for item in items:
        sums = []
        for c in item.continuations:
            ids = tokenizer.encode(c.context + c.text)
            with torch.inference_mode():
                logp = ref(torch.tensor([ids], device=device)).logits[0].float().log_softmax(-1)
            starts = itertools.accumulate((len(tokenizer.decode([t])) for t in ids), initial=0)
            sums.append(sum(logp[p - 1, ids[p]].item() for p, at in enumerate(starts)
                            if p < len(ids) and len(c.context) <= at))
        by_hand[id(item)] = sums
        assert [ll.logprob for ll in scored[id(item)]] == pytest.approx(sums, abs=1e-3)
    assert len(items) == 35
    for scorer in (ChoiceLoglik(), ChoiceLoglikNorm()):
        ours = [scorer.score_logliks(scored[id(i)], i.example.expected).value for i in items]
        hand = []
        for i in items:
            choices = i.example.expected.choices
            by = [s / len(f" {c}") if scorer.normalised else s for s, c in zip(by_hand[id(i)], choices)]
            hand.append(float(choices[max(range(len(choices)), key=by.__getitem__)] == i.example.expected.answer))
        assert ours == hand, scorer.name
