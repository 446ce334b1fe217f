"""A continuation's log-likelihood by hand, from one plain forward of the model: what the engine's batched
prompt log probabilities and an endpoint's echoed ones are checked against."""

from __future__ import annotations

import itertools

import torch

from engine.engine import Engine
from evals.scorers.choice_loglik import Continuation


def by_hand(engine: Engine, c: Continuation) -> tuple[float, int]:
    """(summed log probability, tokens) of the tokens that start inside `c.text`."""
    ids = engine.tokenizer.encode(c.context + c.text)
    with torch.inference_mode():
        logp = engine.model(torch.tensor([ids]), torch.arange(len(ids))[None])[0].float().log_softmax(-1)
    starts = itertools.accumulate((len(engine.tokenizer.decode([t])) for t in ids), initial=0)
    picked = [logp[p - 1, ids[p]].item() for p, at in enumerate(starts) if p < len(ids) and at >= len(c.context)]
    return sum(picked), len(picked)
