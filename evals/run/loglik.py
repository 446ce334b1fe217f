"""A continuation's log-likelihood from a scored prompt, the same arithmetic for the engine's prompt log
probabilities and an endpoint's echoed ones: the tokens that start at or after the context's last
character are the continuation's. (A token that straddles the boundary belongs to the context, as
lm-evaluation-harness splits them.)"""

from __future__ import annotations

from typing import Sequence

from engine import GenerationRequest, SamplingParams
from evals.scorers.choice_loglik import Continuation, Loglik

SCORING = SamplingParams(temperature=0, max_tokens=1, prompt_logprobs=0)  # one token, dropped: the prompt is scored


def loglik(continuation: Continuation, offsets: Sequence[int], logprobs: Sequence[float | None]) -> Loglik:
    """`offsets` and `logprobs` are per token of the prompt `context + text` (a generated token after it, if
    any, is left out by its offset)."""
    start, end = len(continuation.context), len(continuation.context) + len(continuation.text)
    picked = [lp for at, lp in zip(offsets, logprobs) if start <= at < end]
    if not picked or any(lp is None for lp in picked):
        raise ValueError(f"no scored tokens for the continuation {continuation.text!r}")
    return Loglik(sum(picked), len(picked))


def scoring_request(continuation: Continuation) -> GenerationRequest:
    return GenerationRequest(prompt=continuation.context + continuation.text, params=SCORING)
