"""Counterfactual evaluation on production traffic (08 §9.3): sampled production inputs answered by a
baseline and a challenger, and a pairwise judge's verdict on each pair in both orders (a verdict that
flips with the order is a tie). The challenger's win rate counts a tie as half a win, with a bootstrap
CI over the inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from evals.golden.dataset import Example, sha256_text
from evals.judges.judge import Judge, position_consistency
from evals.run.suite import PromptConfig, SamplingConfig
from evals.run.work import Backend, Completion, WorkItem, model_identity
from evals.stats.bootstrap import bootstrap_ci

CHALLENGE_SAMPLING = SamplingConfig(temperature=0, max_tokens=256, seed=0)  # greedy: a replay, not a draw
AS_SENT = PromptConfig()  # no system prompt, the input as the user message: the request as production sent it


@dataclass(frozen=True)
class ChallengeResult:
    judged: int  # pairs with a verdict in both orders
    challenger_wins: int
    baseline_wins: int
    ties: int  # including order flips
    order_flips: int  # verdicts that followed the order shown (counted as ties)
    unparsed: int  # pairs the judge's reply gave no verdict on
    failed: int  # inputs either model failed to answer
    win_rate: float  # the challenger's: (wins + ties / 2) / judged
    low: float
    high: float
    consistency: float  # share of judged pairs whose verdict did not depend on the order


def answer_all(backend: Backend, examples: Sequence[Example], sampling: SamplingConfig) -> dict[str, Completion]:
    """Each example's input, as the production request sent it, answered by `backend`."""
    items = [WorkItem(ex, 0, AS_SENT.messages(ex), sampling.seed,
                      sha256_text(json.dumps([model_identity(backend), ex.input_sha256, sampling.model_dump()])))
             for ex in examples]
    return {c.item.example.id: c for group in backend.complete(items) for c in group}


def challenge(examples: Sequence[Example], baseline: dict[str, Completion], challenger: dict[str, Completion],
              judge: Judge, *, seed: int = 0) -> ChallengeResult:
    """The judge on each (baseline answer as a, challenger answer as b) both answered without error."""
    pairs = [(ex, baseline[ex.id].output, challenger[ex.id].output) for ex in examples
             if baseline[ex.id].error is None and challenger[ex.id].error is None]
    verdicts = judge.pairwise(pairs)
    decided = [v for v in verdicts if v.winner is not None]
    points = np.array([{"b": 1.0, "tie": 0.5, "a": 0.0}[v.winner] for v in decided])
    ci = bootstrap_ci(points, seed=seed) if points.size else None
    nan = float("nan")
    return ChallengeResult(len(decided), sum(v.winner == "b" for v in decided), sum(v.winner == "a" for v in decided),
                           sum(v.winner == "tie" for v in decided), sum(not v.consistent for v in decided),
                           len(verdicts) - len(decided), len(examples) - len(pairs),
                           ci.estimate if ci else nan, ci.low if ci else nan, ci.high if ci else nan,
                           position_consistency(verdicts))

