"""Bias probes for a judge: does padding an answer raise its score (length bias), and does the
answer shown first win more often than it should (position bias)? Both with 95% CIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from evals.golden.dataset import Example
from evals.judges.judge import Judge, position_consistency
from evals.stats.bootstrap import bootstrap_ci
from evals.stats.paired import paired_bootstrap

PADDING = (" To put it another way, and to be thorough about it, the answer above is the one I would give,"
           " stated once more here in slightly different words so that nothing is left unclear.")


@dataclass(frozen=True)
class LengthBias:
    n: int  # examples where both the answer and its padded copy were scored
    mean_original: float
    mean_padded: float
    difference: float  # padded - original: above 0 means the judge pays for length
    low: float
    high: float


@dataclass(frozen=True)
class PositionBias:
    n: int  # decisive verdicts (not ties, parsed)
    first_wins: float  # share of decisive verdicts for the answer shown first; 0.5 is unbiased
    low: float
    high: float
    consistency: float  # share of pairs whose verdict did not depend on the order


def length_bias(judge: Judge, candidates: Sequence[tuple[Example, str]], *, seed: int = 0) -> LengthBias:
    plain = judge.pointwise(candidates)
    padded = judge.pointwise([(ex, answer + PADDING) for ex, answer in candidates])
    both = [(p.verdict.scores["overall"], q.verdict.scores["overall"]) for p, q in zip(plain, padded)
            if p.verdict.outcome == q.verdict.outcome == "scored"]
    if len(both) < 2:
        nan = float("nan")
        return LengthBias(len(both), nan, nan, nan, nan, nan)
    a, b = np.array(both, dtype=float).T
    r = paired_bootstrap(a, b, seed=seed)
    return LengthBias(len(both), float(a.mean()), float(b.mean()), r.mean_difference, r.low, r.high)


def position_bias(judge: Judge, pairs: Sequence[tuple[Example, str, str]], *, seed: int = 0) -> PositionBias:
    """Each pair is shown both ways, so an unbiased judge picks the first-shown answer half the time."""
    judged = judge.pairwise(pairs)
    first = [v.scores["winner"] == 1 for j in judged for v in (j.first, j.swapped)
             if v.outcome == "scored" and v.scores["winner"] != 0]
    consistency = position_consistency(judged)
    if len(first) < 2:
        nan = float("nan")
        return PositionBias(len(first), nan, nan, nan, consistency)
    ci = bootstrap_ci(np.array(first, dtype=float), seed=seed)
    return PositionBias(len(first), ci.estimate, ci.low, ci.high, consistency)
