"""An online experiment's read-out on the terminal: each variant's bad rate, the sequential verdict and
its confidence sequence, and the Bayesian probability and losses."""

from __future__ import annotations

import numpy as np
from rich.console import Console

from evals.stats.online import BayesianAB, SequentialResult


def print_ab(a_name: str, b_name: str, metric: str, a: np.ndarray, b: np.ndarray, s: SequentialResult,
             bayes: BayesianAB, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"{metric}: {a_name} {a.mean():.2%} of {a.size}, {b_name} {b.mean():.2%} of {b.size}")
    verdict = (f"[bold]differ[/] (first at {s.stopped_at} requests each)" if s.stopped_at is not None
               else "not yet distinguishable")
    console.print(f"sequential (mSPRT, alpha {s.alpha:g}): {verdict}; always-valid p {s.pvalue:.3g}; "
                  f"{b_name} - {a_name} = {s.difference:+.2%} (confidence sequence {s.low:+.2%} to {s.high:+.2%}, "
                  f"over {s.n} requests each)")
    console.print(f"Bayesian: P({b_name} better) {bayes.prob_b_better:.1%}; expected loss choosing {b_name} "
                  f"{bayes.loss_choosing_b:.3%}, choosing {a_name} {bayes.loss_choosing_a:.3%}")
